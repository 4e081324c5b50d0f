#!/usr/bin/env bash
# stages: sanitize
# A deduplicated repository under s3://BUCKET/PREFIX (a real Ceph radosgw),
# the same layout as in a folder (docs/storage.md): repo init; two snapshots
# of a volume with ~1% changed, the second storing no more than its change;
# list refs; every ref reads back (export, verify, --no-read-data, ls,
# extract, restore) as the exact .tar.zst its sidecar names; repo stats; a
# damaged pack object is a checksum mismatch; prune collects what no kept
# snapshot uses. The lock is an object under PREFIX/locks/: a live prune's
# lock keeps a snapshot waiting up to DOCKFORM_REPO_LOCK_WAIT, a snapshot's
# keeps a prune waiting, a lock whose heartbeat stopped (or whose owner on
# this machine is gone, as after a SIGKILL) is taken over; a prune that gives
# up waiting removes nothing, not even what its retention drops; none is left
# after a run, also one stopped by SIGINT or SIGTERM.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

need_tools zstd tar sha256sum python3

proj=$TEST_TMP/proj
vol=${PFX}s3repo
big=${PFX}s3big
repo=$S3_BASE/repo
write_manifest "$proj" s3repoident "$vol" "$big"
engine volume create "$vol" >/dev/null
engine volume create "$big" >/dev/null
fill_random "$vol" 12 1
state() { vol_exec "$vol" sh -c 'cd /v && find . -type f | sort | xargs sha256sum'; }
# The bytes stored under the repository's prefix.
stored() {
  s3_curl GET "?list-type=2&prefix=${S3_PREFIX}%2Frepo%2F" | grep -o '<Size>[0-9]*</Size>' | tr -dc '0-9\n' |
    awk '{ s += $1 } END { print s + 0 }'
}
packs() { s3_keys "$S3_PREFIX/repo/packs/" | grep -c '\.pack$' || true; }
locks() { s3_keys "$S3_PREFIX/repo/locks/"; }

# ---------------------------------------------------------------- init
run_df repo init "$repo"
assert_eq 0 "$RC" "repo init $repo: $ERR"
assert_eq "$S3_PREFIX/repo/config" "$(s3_keys)" "the new repository is its config"
s3_fetch "$S3_PREFIX/repo/config" "$TEST_TMP/config"
assert_eq 262144 "$(json_field chunker.average "$TEST_TMP/config")" "a new repository's frames: 256 KiB on average"
run_df repo init "$repo"
assert_eq 2 "$RC" "repo init on a repository: $ERR"
assert_contains "$ERR" "not empty" "the second init says why"

# ---------------------------------------------------------------- two snapshots, ~1% changed
run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "first snapshot into $repo: $ERR"
ref1=$(json_field data_file)
side1=$(json_field sidecar_file)
state1=$(state)
size1=$(stored)
[[ $ref1 == "$repo/$vol/"*.tar.zst && $side1 == "$repo/snapshots/$vol/"*.json ]] || fail "ref [$ref1] sidecar [$side1]"
vol_exec "$vol" dd if=/dev/urandom of=/v/r5 bs=32k count=4 seek=3 conv=notrunc 2>/dev/null
run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "second snapshot: $ERR"
ref2=$(json_field data_file)
side2=$(json_field sidecar_file)
snap2_bytes=$(json_field compressed_bytes)
state2=$(state)
growth=$(($(stored) - size1))
echo "repository in the bucket: $size1 bytes after one snapshot, +$growth for the second (standalone: $snap2_bytes)"
# 128 KiB changed: a few 256 KiB frames (at most 1 MiB each) and the new index.
((growth * 4 < snap2_bytes)) || fail "the repository grew by $growth bytes for a snapshot of $snap2_bytes"
assert_eq "" "$(locks)" "no lock object is left after the snapshots"

run_df -c "$proj" volume list -o "$repo" --json
assert_eq 0 "$RC" "list: $ERR"
assert_eq "$ref2 $ref1" "$(json_field snapshots.0.ref) $(json_field snapshots.1.ref)" "list --json refs, newest first"
run_df repo stats "$repo" --json
assert_eq 0 "$RC" "repo stats: $ERR"
assert_eq 2 "$(json_field snapshots)" "repo stats: snapshots"
assert_eq "$(stored)" "$(json_field stored_bytes)" "repo stats: the bytes under the prefix"

# ---------------------------------------------------------------- read back
for n in 1 2; do
  ref=ref$n side=side$n
  s3_fetch "${!side#s3://"$S3_BUCKET"/}" "$TEST_TMP/side$n.json"
  run_df volume export "${!ref}" -o "$TEST_TMP/export$n.tar.zst"
  assert_eq 0 "$RC" "export $n: $ERR"
  assert_eq "$(json_field checksum.tar_zst "$TEST_TMP/side$n.json")" \
    "$(sha256sum <"$TEST_TMP/export$n.tar.zst" | cut -c1-64)" "the exported file's SHA-256 is the sidecar's ($n)"
  run_df volume verify "${!ref}"
  assert_eq 0 "$RC" "verify $n: $OUT $ERR"
  assert_contains "$OUT" "frames and their index" "verify $n checks the frames and the index"
done
run_df volume verify "$ref2" --no-read-data --json
assert_eq 0 "$RC" "verify --no-read-data: $OUT $ERR"
assert_eq false "$(json_field data_read)" "--no-read-data reads no frame"
run_df volume ls "$ref2"
assert_eq 0 "$RC" "ls: $ERR"
assert_eq "$(zstd -dc "$TEST_TMP/export2.tar.zst" | tar -tf - | sort)" "$(sort <<<"$OUT")" "volume ls of a ref"
run_df volume extract "$ref2" ./r5 -o "$TEST_TMP/extracted"
assert_eq 0 "$RC" "extract: $ERR"
assert_contains "$state2" "$(sha256sum <"$TEST_TMP/extracted/r5" | cut -c1-64)  ./r5" "the extracted file is the volume's"
run_df -c "$proj" volume restore "$vol" "$ref1" --force
assert_eq 0 "$RC" "restore of the first snapshot: $ERR"
assert_eq "$state1" "$(state)" "the volume after restoring the first snapshot"
assert_eq "" "$(locks)" "no lock object is left after the reads"

# ---------------------------------------------------------------- a damaged pack object
# Every pack has one byte changed (which pack holds which snapshot's frames is
# the content hash's to say), then gets its bytes back.
mapfile -t pack_keys < <(s3_keys "$S3_PREFIX/repo/packs/")
for i in "${!pack_keys[@]}"; do
  s3_fetch "${pack_keys[$i]}" "$TEST_TMP/pack$i.orig"
  python3 - "$TEST_TMP/pack$i.orig" "$TEST_TMP/pack.bad" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 2] ^= 0x55
open(sys.argv[2], "wb").write(data)
EOF
  s3_curl PUT "/${pack_keys[$i]}" --data-binary "@$TEST_TMP/pack.bad" -f -o /dev/null || fail "cannot replace a pack"
done
run_df volume verify "$ref1"
assert_eq 3 "$RC" "verify with a damaged pack object: $OUT $ERR"
assert_contains "$OUT$ERR" "checksum mismatch" "verify names the damage"
for i in "${!pack_keys[@]}"; do
  s3_curl PUT "/${pack_keys[$i]}" --data-binary "@$TEST_TMP/pack$i.orig" -f -o /dev/null || fail "cannot put a pack back"
done

# ---------------------------------------------------------------- the lock
# lock_object NAME MODE OWNER LEASE: a lock object as another run writes it.
lock_object() {
  printf '{"format":"dockform-repository-lock","version":1,"mode":"%s","owner":"%s","host":"elsewhere","pid":4242,"since":"2026-01-01T00:00:00Z","lease":%s}' \
    "$2" "$3" "$4" >"$TEST_TMP/lock.json"
  s3_curl PUT "/$S3_PREFIX/repo/locks/$1.json" --data-binary "@$TEST_TMP/lock.json" -f -o /dev/null ||
    fail "cannot write lock $1"
}
# A prune of another machine collecting: a snapshot waits, then gives up.
lock_object other exclusive "0123456789abcdef:4242:1:4026531836" 10
DOCKFORM_REPO_LOCK_WAIT=3s run_df -c "$proj" volume snapshot "$vol" -o "$repo"
assert_eq 3 "$RC" "a snapshot while another machine's prune holds the lock: $ERR"
assert_contains "$ERR" "in use by a prune" "the snapshot names what holds the repository"
assert_eq "$S3_PREFIX/repo/locks/other.json" "$(locks)" "the waiting snapshot left no lock of its own"
# Its heartbeat stopped: once it is older than its lease, the next run takes it over.
DOCKFORM_REPO_LOCK_WAIT=60s run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "a snapshot after the other prune's heartbeat stopped: $ERR"
assert_contains "$ERR" "took over" "the takeover is said"
ref3=$(json_field data_file)
assert_eq "" "$(locks)" "the stale lock was taken over and removed"
# A snapshot of another machine running: a prune whose retention drops two of
# the three snapshots waits, then gives up, removing nothing: the lock comes
# before the retention.
lock_object reader shared "0123456789abcdef:4243:1:4026531836" 120
stored_frames() { s3_keys "$S3_PREFIX/repo/packs/"; s3_keys "$S3_PREFIX/repo/index/"; }
frames_before=$(stored_frames)
records_before=$(s3_keys "$S3_PREFIX/repo/snapshots/")
assert_eq 6 "$(grep -c -e '\.recipe$' -e '\.json$' <<<"$records_before")" "three recipes and their sidecars"
DOCKFORM_REPO_LOCK_WAIT=3s run_df -c "$proj" volume prune "$vol" -o "$repo" --keep-last 1
assert_eq 3 "$RC" "a prune while another machine's snapshot holds the lock: $ERR"
assert_contains "$ERR" "in use by snapshots" "the prune names what holds the repository"
assert_not_contains "$OUT" "remove" "the prune that could not have the lock reports no removal"
assert_eq "$records_before" "$(s3_keys "$S3_PREFIX/repo/snapshots/")" "the waiting prune removed no recipe and no sidecar"
assert_eq "$frames_before" "$(stored_frames)" "the waiting prune removed no pack and no index"
s3_curl DELETE "/$S3_PREFIX/repo/locks/reader.json" -f -o /dev/null
# A snapshot SIGKILLed on this machine: its owner is gone, so its lock goes at once.
"$DOCKFORM" -c "$proj" volume snapshot "$vol" -o "$repo" >"$TEST_TMP/kill.out" 2>"$TEST_TMP/kill.err" &
df_pid=$!
has_lock() { [[ -n $(locks) ]]; }
signal_when "$df_pid" KILL has_lock || fail "the snapshot ended before it took the lock: $(cat "$TEST_TMP/kill.err")"
wait "$df_pid" 2>/dev/null || true
df_pid=
[[ -n $(locks) ]] || fail "the killed snapshot left no lock object (expected one to take over)"

# ---------------------------------------------------------------- prune
run_df -c "$proj" volume prune "$vol" -o "$repo" --keep-last 1 --json
assert_eq 0 "$RC" "prune --keep-last 1 after a killed snapshot: $ERR"
assert_contains "$ERR" "took over" "the killed snapshot's lock is taken over at once"
assert_eq "" "$(locks)" "no lock object is left after the prune"
run_df -c "$proj" volume list -o "$repo" --json
assert_eq "$ref3" "$(json_field snapshots.0.ref)" "the newest snapshot is kept"
assert_eq 1 "$(json_field --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
  "the older snapshots are gone"
run_df volume verify "$ref3"
assert_eq 0 "$RC" "verify of the kept snapshot after the collection: $OUT $ERR"
run_df -c "$proj" volume restore "$vol" "$ref3" --force
assert_eq 0 "$RC" "restore of the kept snapshot: $ERR"
run_df volume verify "$ref1"
assert_eq 3 "$RC" "a pruned ref: $OUT $ERR"
assert_contains "$OUT" "does not exist in the repository" "a pruned ref is named gone"

# ---------------------------------------------------------------- SIGINT, SIGTERM
# A snapshot stopped while it holds the lock removes its lock object on the
# way out: the DELETE is not cut short by the signal. 48 MiB of random bytes
# keep it running well past the moment its lock object appears.
fill_random "$big" 6 8
for sig in INT TERM; do
  "$DOCKFORM" -c "$proj" volume snapshot "$big" -o "$repo" >"$TEST_TMP/$sig.out" 2>"$TEST_TMP/$sig.err" &
  df_pid=$!
  _BACKGROUND_PIDS+=("$df_pid")
  signal_when "$df_pid" "$sig" has_lock || fail "the snapshot ended before it took the lock: $(<"$TEST_TMP/$sig.err")"
  rc=0
  wait "$df_pid" || rc=$?
  assert_eq 1 "$rc" "the snapshot stopped by SIG$sig: $(<"$TEST_TMP/$sig.err")"
  assert_contains "$(<"$TEST_TMP/$sig.err")" "interrupted by SIG$sig" "the run says SIG$sig stopped it"
  assert_eq "" "$(locks)" "no lock object is left after SIG$sig"
done

pass
