#!/usr/bin/env bash
# stages: sanitize podman
# The nightly fast path (docs/storage.md, "Nightly snapshots: what is
# read"): into a repository, a snapshot hands the helper the members of the
# one it builds on with their inode and change time (this host's files
# cache); members whose type, size, mtime, ctime and inode are unchanged are
# not read, and their bytes come from the earlier snapshot's frames. The
# snapshot of an honest change is byte for byte what reading everything
# gives; a change hidden behind unchanged metadata (the cache made to lie)
# is missed by the fast path and caught by --full-read; a run in
# full_read_every reads everything.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools zstd tar sha256sum python3

proj=$TEST_TMP/proj
vol=${PFX}nightly
repo=$TEST_TMP/repo
write_manifest "$proj" nightly "$vol" "${vol}_back"
engine volume create "$vol" >/dev/null
fill_random "$vol" 12 1
# Small files, a folder, a symlink and a hard link pair beside the big ones.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$vol" sh -c 'mkdir /v/d && i=0; while [ $i -lt 300 ]; do echo "line $i" >/v/d/f$i; i=$((i+1)); done;
  ln -s d/f1 /v/link; ln /v/d/f2 /v/d/hard' || fail "filling $vol"
state() { vol_exec "$vol" sh -c 'cd /v && find . -type f | sort | xargs sha256sum'; }
nightly_line() { grep -o 'nightly: [0-9]* of [0-9]* members unchanged since [^ ]* ([0-9]* bytes of tar)' <<<"$ERR"; }
snapshot() { run_df -c "$proj" --log-level debug volume snapshot "$vol" -o "$repo" --json "$@"; }

run_df repo init "$repo"
assert_eq 0 "$RC" "repo init: $ERR"

# ---------------------------------------------------------------- the first snapshot reads everything
snapshot
assert_eq 0 "$RC" "first snapshot: $ERR"
assert_contains "$ERR" "nightly: every file read" "no earlier snapshot to build on"
caches=("$DOCKFORM_CACHE_DIR"/files/*)
assert_eq 1 "${#caches[@]}" "the first snapshot left one files cache"
cache=${caches[0]}
members1=$(sed -n 4p "$cache" | cut -d' ' -f2)
((members1 > 310)) || fail "the files cache holds $members1 members"

# ---------------------------------------------------------------- an honest change: only it is read
vol_exec "$vol" sh -c 'dd if=/dev/urandom of=/v/r3 bs=4k count=8 seek=40 conv=notrunc 2>/dev/null;
  echo more >>/v/d/f150; rm /v/r9; dd if=/dev/urandom of=/v/new bs=1k count=300 2>/dev/null' || fail "changing $vol"
state2=$(state)
snapshot
assert_eq 0 "$RC" "second snapshot: $ERR"
line=$(nightly_line)
echo "$line"
[[ -n $line ]] || fail "the second snapshot did not build on the first: $ERR"
read -r unchanged total spliced < <(sed -E 's/nightly: ([0-9]+) of ([0-9]+) .*\(([0-9]+) bytes.*/\1 \2 \3/' <<<"$line")
# r3, d/f150, new and the folders holding a changed name were read; the rest not.
((unchanged > total - 8 && unchanged < total)) || fail "$unchanged of $total members unchanged"
((spliced > 9000000)) || fail "only $spliced bytes of tar came from the first snapshot"
ref2=$(json_field data_file)
side2=$(json_field sidecar_file)
assert_eq "$(sed -n 2p "$cache" | cut -d' ' -f2).tar.zst" "$(basename "$ref2")" "the cache now describes the second snapshot"
assert_eq "fast_runs 1" "$(sed -n 3p "$cache")" "one fast run since the last full read"

# Byte for byte what reading everything gives.
snapshot --full-read
assert_eq 0 "$RC" "--full-read: $ERR"
assert_contains "$ERR" "every file read (--full-read)" "--full-read reads everything"
assert_eq "$(json_field checksum.tar_zst "$side2")" "$(json_field checksum.tar_zst "$(json_field sidecar_file)")" \
  "the fast path's snapshot is the full read's, byte for byte"
assert_eq "fast_runs 0" "$(sed -n 3p "$cache")" "a full read starts the count again"

# It restores and verifies like any other.
run_df volume verify "$ref2"
assert_eq 0 "$RC" "verify: $OUT $ERR"
engine volume create "${vol}_back" >/dev/null
run_df -c "$proj" volume restore "${vol}_back" "$ref2"
assert_eq 0 "$RC" "restore: $ERR"
assert_eq "$state2" "$(vol_exec "${vol}_back" sh -c 'cd /v && find . -type f | sort | xargs sha256sum')" \
  "the restored volume holds the changed files"

# ---------------------------------------------------------------- a change the metadata does not show
# r5 rewritten with its size and mtime kept; the cache is then made to hold
# r5's new inode and change time, as if the filesystem had not moved them (a
# clock set back, a disk edited under the filesystem).
snapshot
assert_eq 0 "$RC" "snapshot before the hidden change: $ERR"
ref=$(json_field data_file)
mountpoint=$(engine volume inspect -f '{{.Mountpoint}}' "$vol")
if ! mtime=$(python3 -c 'import os, sys; print(os.lstat(sys.argv[1]).st_mtime_ns)' "$mountpoint/r5" 2>/dev/null); then
  pass "nightly fast path (the volume's folder is not readable here: the hidden change is not tried)"
  exit 0
fi
vol_exec "$vol" dd if=/dev/urandom of=/v/r5 bs=64k count=2 seek=3 conv=notrunc 2>/dev/null
r5_sum=$(vol_exec "$vol" sha256sum /v/r5 | cut -c1-64)
stamp=$(python3 - "$mountpoint/r5" "$mtime" <<'PY'
import os, sys
os.utime(sys.argv[1], ns=(int(sys.argv[2]), int(sys.argv[2])), follow_symlinks=False)
st = os.lstat(sys.argv[1])
print(st.st_ino, st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9)
PY
)
index=$("$DOCKFORM" volume export "$ref" -o - | zstd -dc | tar -tf - | grep -n -x './r5' | cut -d: -f1)
[[ -n $index ]] || fail "r5 not in $ref"
sed -i "$((4 + index))s/.*/$stamp/" "$cache"
snapshot
assert_eq 0 "$RC" "snapshot after the hidden change: $ERR"
"$DOCKFORM" volume extract "$(json_field data_file)" r5 -o - | tar -xOf - ./r5 | sha256sum | cut -c1-64 >"$TEST_TMP/fast"
[[ $(cat "$TEST_TMP/fast") != "$r5_sum" ]] || fail "the fast path read r5 though its metadata said unchanged"
snapshot --full-read
assert_eq 0 "$RC" "--full-read after the hidden change: $ERR"
assert_eq "$r5_sum" "$("$DOCKFORM" volume extract "$(json_field data_file)" r5 -o - | tar -xOf - ./r5 | sha256sum | cut -c1-64)" \
  "--full-read catches the change behind unchanged metadata"

# ---------------------------------------------------------------- full_read_every
cat >>"$proj/dockform.yml" <<'YAML'
snapshots:
  full_read_every: 2
YAML
vol_exec "$vol" sh -c 'echo again >>/v/d/f7'
snapshot
assert_eq 0 "$RC" "snapshot 1 of 2: $ERR"
[[ -n $(nightly_line) ]] || fail "the first run after a full read is fast: $ERR"
vol_exec "$vol" sh -c 'echo again >>/v/d/f8'
snapshot
assert_eq 0 "$RC" "snapshot 2 of 2: $ERR"
assert_contains "$ERR" "one run in 2: full_read_every" "every second run reads everything"
pass "nightly fast path"
