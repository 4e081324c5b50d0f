#!/usr/bin/env bash
# stages: sanitize
# Seekable snapshots (docs/snapshot-format.md): many zstd frames that plain
# zstd and tar still read, a member index and a seek table at the end;
# `volume ls` from the index (tail only), verify of the trailers, a damaged
# frame refused, determinism, and one-frame snapshots falling back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools zstd tar bsdtar sha256sum python3

# frames.py FILE: the seek table read independently of dockform, one line
# per frame: "file_offset compressed decompressed"; fails when the trailers
# are not where docs/snapshot-format.md puts them.
cat >"$TEST_TMP/frames.py" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
count, descriptor, magic = struct.unpack("<IBI", data[-9:])
assert magic == 0x8F92EAB1, "no seekable footer"
assert descriptor & 0x7C == 0, "reserved bits set"
size = 8 + 8 * count + 9
table = data[-size:]
assert struct.unpack("<II", table[:8]) == (0x184D2A5E, size - 8), "seek table frame header"
offset = 0
for i in range(count):
    c, d = struct.unpack("<II", table[8 + 8 * i:16 + 8 * i])
    print(offset, c, d)
    offset += c
assert offset + size == len(data), "frames do not add up to the file"
PY

# ---------------------------------------------------------------- fixture
proj=$TEST_TMP/proj
vol=${PFX}seek
write_manifest "$proj" seekident "$vol"
engine volume create "$vol" >/dev/null
vol_exec "$vol" sh -euc '
  cd /v
  mkdir -p app/conf data/deep
  echo "key = value" > app/conf/app.ini
  chmod 640 app/conf/app.ini && chown 1234:5678 app/conf/app.ini
  touch -d "2024-03-05 06:07:08" app/conf/app.ini
  dd if=/dev/urandom of=data/big.bin bs=1M count=9 2>/dev/null
  dd if=/dev/urandom of=data/deep/mid.bin bs=64k count=40 2>/dev/null
  echo linked > data/hard-a && ln data/hard-a data/hard-b
  ln -s conf/app.ini app/link
'
out=$TEST_TMP/snaps
run_df -c "$proj" volume snapshot "$vol" -o "$out" --json
assert_eq 0 "$RC" "volume snapshot: $ERR"
snap=$(json_field data_file)
side=$(json_field sidecar_file)

# ---------------------------------------------------------------- plain tools still read it
python3 "$TEST_TMP/frames.py" "$snap" >"$TEST_TMP/frames" || fail "seek table of $snap: see above"
frames=$(wc -l <"$TEST_TMP/frames")
((frames >= 4)) || fail "expected several data frames and the index frame, got $frames"
assert_eq 0 "$(tail -1 "$TEST_TMP/frames" | cut -d' ' -f3)" "the index frame's decompressed size in the seek table"
zstd -q -t "$snap" || fail "zstd -t rejects $snap"
zstd -dc "$snap" | tar -tf - | sort >"$TEST_TMP/gnu" || fail "GNU tar cannot list $snap"
bsdtar -tf "$snap" | sort >"$TEST_TMP/bsd" || fail "bsdtar cannot list $snap"
assert_eq "$(cat "$TEST_TMP/gnu")" "$(cat "$TEST_TMP/bsd")" "GNU tar and bsdtar list the same members"
assert_eq "$(zstd -dc "$snap" | wc -c)" "$(json_field uncompressed_bytes "$side")" "uncompressed_bytes"
# The sidecar's index_sha256 is the index frame's bytes (the next to last frame).
read -r ioff isize _ < <(tail -1 "$TEST_TMP/frames")
assert_eq "$(tail -c +$((ioff + 1)) "$snap" | head -c "$isize" | sha256sum | cut -c1-64)" \
  "$(json_field index_sha256 "$side")" "index_sha256 in the sidecar"

# ---------------------------------------------------------------- ls
run_df volume ls "$snap"
assert_eq 0 "$RC" "volume ls: $ERR"
assert_eq "$(cat "$TEST_TMP/gnu")" "$(sort <<<"$OUT")" "volume ls vs zstd -dc | tar -t"
assert_not_contains "$ERR" "sequential" "a seekable snapshot is listed from its index"
run_df volume ls "$snap" ./app/conf -l
assert_eq 0 "$RC" "volume ls -l PATH"
want=$(zstd -dc "$snap" | TZ=UTC tar -tvf - --numeric-owner ./app/conf/app.ini | awk '{print $1, $2, $3, $4, $5, $6}')
assert_contains "$OUT" "$want" "ls -l line of app.ini vs tar -tv --numeric-owner"
assert_eq 2 "$(wc -l <<<"$OUT")" "ls ./app/conf: the folder and its file"
run_df volume ls "$snap" data/nothing-here
assert_eq 2 "$RC" "ls of a path not in the snapshot is a usage error"
run_df volume ls "$snap" --json
assert_eq 0 "$RC" "volume ls --json"
assert_eq true "$(json_field from_index)" "ls --json from_index"
read_bytes=$(json_field bytes_read)
size=$(stat -c %s "$snap")
((read_bytes * 100 <= size)) || fail "ls read $read_bytes of $size bytes (more than 1%)"
assert_eq "1234" "$(jq -r '.members[] | select(.path == "./app/conf/app.ini") | .uid' <<<"$OUT")" "uid in --json"
assert_eq "0640" "$(jq -r '.members[] | select(.path == "./app/conf/app.ini") | .mode' <<<"$OUT")" "mode in --json"

# ---------------------------------------------------------------- verify, and a damaged frame
run_df volume verify "$snap" --json
assert_eq 0 "$RC" "verify of a seekable snapshot: $OUT"
assert_eq "$((frames - 1))" "$(json_field seekable_frames)" "verify checked every data frame"
bad=$TEST_TMP/bad
mkdir -p "$bad"
cp "$snap" "$bad/" && cp "$side" "$bad/"
damaged=$bad/$(basename "$snap")
read -r foff fsize _ < <(sed -n 2p "$TEST_TMP/frames")
printf '\xff\xff\xff\xff' | dd of="$damaged" bs=1 seek=$((foff + fsize / 2)) conv=notrunc 2>/dev/null
run_df volume verify "$damaged"
assert_eq 3 "$RC" "verify of a damaged frame"
assert_contains "$OUT" "checksum mismatch" "verify names the damage"
run_df volume ls "$damaged"
assert_eq 0 "$RC" "ls reads the index only: a damaged data frame does not stop it"

# ---------------------------------------------------------------- extract
ref=$TEST_TMP/ref
mkdir -p "$ref"
zstd -dc "$snap" | tar -xpf - --numeric-owner -C "$ref"
got=$TEST_TMP/got
run_df volume extract "$snap" ./app/conf/app.ini data/deep -o "$got"
assert_eq 0 "$RC" "volume extract: $ERR"
frames_read=$(sed -n 's/.*, \([0-9]*\) frames)$/\1/p' <<<"$OUT")
[[ -n $frames_read ]] && ((frames_read < frames - 1)) ||
  fail "extract read $frames_read of $((frames - 1)) data frames: [$OUT]"
assert_eq "$(cd "$got" && find . | sort)" $'.\n./app\n./app/conf\n./app/conf/app.ini\n./data\n./data/deep\n./data/deep/mid.bin' \
  "extract writes the named file and folder only, at their paths"
cmp "$ref/app/conf/app.ini" "$got/app/conf/app.ini" || fail "extracted app.ini differs from tar's"
cmp "$ref/data/deep/mid.bin" "$got/data/deep/mid.bin" || fail "extracted mid.bin differs from tar's"
assert_eq "$(stat -c '%a %u %g %Y' "$ref/app/conf/app.ini")" "$(stat -c '%a %u %g %Y' "$got/app/conf/app.ini")" \
  "mode, owner and mtime of the extracted file vs tar's"
assert_eq "640 1234 5678" "$(stat -c '%a %u %g' "$got/app/conf/app.ini")" "metadata of the extracted file"
"$DOCKFORM" volume extract "$snap" ./data/big.bin ./app -o - 2>/dev/null >"$TEST_TMP/part.tar" ||
  fail "extract -o - failed"
assert_eq $'./app/\n./app/conf/\n./app/conf/app.ini\n./app/link\n./data/big.bin' "$(tar -tf "$TEST_TMP/part.tar" | sort)" \
  "extract -o - gives a tar of the named members"
cmp <(tar -xOf "$TEST_TMP/part.tar" ./data/big.bin) "$ref/data/big.bin" || fail "big.bin through -o - differs"
run_df volume extract "$damaged" ./data/big.bin -o "$TEST_TMP/dmg"
assert_eq 3 "$RC" "extract of a member in a damaged frame"
assert_contains "$ERR" "checksum mismatch" "extract names the damage"
assert_no_file "$TEST_TMP/dmg/data/big.bin" "nothing is left of a member in a damaged frame"
run_df volume extract "$damaged" ./app/conf/app.ini -o "$TEST_TMP/dmg"
assert_eq 0 "$RC" "a member in an intact frame of a damaged file still extracts"

# ---------------------------------------------------------------- an index the sidecar does not vouch for
# ls and extract trust the index (and through its seek table every frame)
# only when its SHA-256 is the one the sidecar recorded.
forged=$TEST_TMP/forged
mkdir -p "$forged"
cp "$snap" "$forged/"
jq '.index_sha256 = ("0" * 64)' "$side" >"$forged/$(basename "$side")"
run_df volume ls "$forged/$(basename "$snap")"
assert_eq 3 "$RC" "ls of a snapshot whose index is not the one its sidecar recorded"
assert_contains "$ERR" "checksum mismatch" "ls names the mismatch"
assert_contains "$ERR" "for the index" "ls says it is the index"
run_df volume extract "$forged/$(basename "$snap")" ./app/conf/app.ini -o "$TEST_TMP/forged-out"
assert_eq 3 "$RC" "extract from a snapshot whose index is not the one its sidecar recorded"
assert_contains "$ERR" "checksum mismatch" "extract names the mismatch"
assert_no_file "$TEST_TMP/forged-out/app/conf/app.ini" "nothing extracted from an unvouched index"

# ---------------------------------------------------------------- determinism
run_df -c "$proj" volume snapshot "$vol" -o "$TEST_TMP/again" --json
assert_eq 0 "$RC" "second snapshot"
cmp -s "$snap" "$(json_field data_file)" || fail "two snapshots of an unchanged volume differ"

# ---------------------------------------------------------------- one-frame snapshots
old=$TEST_TMP/old
mkdir -p "$old"
zstd -dc "$snap" | zstd -q -3 -o "$old/one.tar.zst"
run_df volume ls "$old/one.tar.zst"
assert_eq 0 "$RC" "ls of a one-frame snapshot"
assert_eq "$(cat "$TEST_TMP/gnu")" "$(sort <<<"$OUT")" "ls of a one-frame snapshot vs tar -t"
assert_contains "$ERR" "sequential pass" "the fallback is said on stderr"
run_df volume verify "$old/one.tar.zst" --json
assert_eq 0 "$RC" "verify of a one-frame snapshot: $OUT"
assert_eq 0 "$(json_field seekable_frames)" "a one-frame snapshot has no seek table"
run_df volume extract "$old/one.tar.zst" ./app/conf/app.ini -o "$TEST_TMP/fromold"
assert_eq 0 "$RC" "extract from a one-frame snapshot: $ERR"
assert_eq 1 "$(grep -c 'sequential pass' <<<"$ERR")" "the fallback is said once"
cmp "$ref/app/conf/app.ini" "$TEST_TMP/fromold/app/conf/app.ini" || fail "app.ini from a one-frame snapshot differs"

# A file name is bytes: one that is not UTF-8 (Latin-1 "café.txt", from GNU
# tar) is listed in --json with U+FFFD in its place, not an error.
mkdir -p "$TEST_TMP/latin1"
: >"$TEST_TMP/latin1/caf"$'\xe9'".txt"
tar -cf "$old/latin1.tar" -C "$TEST_TMP/latin1" .
run_df volume ls "$old/latin1.tar" --json
assert_eq 0 "$RC" "ls --json of a member whose name is not UTF-8: $ERR"
assert_eq "./caf"$'\xef\xbf\xbd'".txt" "$(jq -r '.members[1].path' <<<"$OUT")" "the name, with U+FFFD for the byte"

# ---------------------------------------------------------------- a closed pipe ends quietly
# As tar's listing ended by `| head`: nothing on stderr, exit 141 (128 +
# SIGPIPE, what the shell shows for tar). The reader is gone before dockform
# writes (closed_pipe), or leaves in the middle of a large tar (head -c).
closed_pipe() {
  RC=0
  python3 -c 'import os, subprocess, sys
r, w = os.pipe()
os.close(r)
sys.exit(subprocess.run(sys.argv[1:], stdout=w).returncode)' "$DOCKFORM" "$@" 2>"$TEST_TMP/pipe.err" || RC=$?
  ERR=$(<"$TEST_TMP/pipe.err")
}
closed_pipe volume ls "$snap"
assert_eq "141" "$RC" "ls into a closed pipe"
assert_eq "" "$ERR" "ls into a closed pipe says nothing"
closed_pipe volume ls "$snap" --json
assert_eq "141:" "$RC:$ERR" "ls --json into a closed pipe"
closed_pipe -c "$proj" volume list -o "$out" --json
assert_eq "141" "$RC" "volume list --json into a closed pipe: $ERR"
assert_not_contains "$ERR" "could not write" "volume list --json into a closed pipe"
{
  "$DOCKFORM" volume extract "$snap" ./data/big.bin -o - 2>"$TEST_TMP/head.err"
  echo $? >"$TEST_TMP/head.rc"
} | head -c 1000 >/dev/null || true
assert_eq "141" "$(<"$TEST_TMP/head.rc")" "extract -o - | head -c 1000"
assert_eq "" "$(<"$TEST_TMP/head.err")" "extract -o - | head says nothing"
run_df volume ls "$TEST_TMP/none.tar.zst"
assert_eq 1 "$RC" "other errors keep their code"

pass
