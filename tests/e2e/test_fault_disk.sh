#!/usr/bin/env bash
# The snapshot folder cannot take the snapshot:
#  - not writable: a read-only tmpfs: non-zero, an error naming the folder and
#    saying it is read-only, nothing written (then the same volume snapshots
#    fine into a writable folder);
#  - full: a 2 MB tmpfs, a volume of ~20 MB of random data: non-zero, an error
#    that says there is no space, no final-named and no temporary file left in
#    the tmpfs, no helper container left.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

proj=$TEST_TMP/proj
vol=${PFX}data
write_manifest "$proj" faultdisk "$vol"
engine volume create "$vol" >/dev/null
vol_exec "$vol" sh -c 'dd if=/dev/urandom of=/v/random.bin bs=1M count=20 2>/dev/null; echo small > /v/small.txt' ||
  fail "filling $vol"

full=$TEST_TMP/full
ro=$TEST_TMP/ro
mkdir -p "$full" "$ro"
on_fault_exit() {
  umount "$full" 2>/dev/null || true
  umount "$ro" 2>/dev/null || true
}
fault_trap
mount -t tmpfs -o size=2m tmpfs "$full" || fail "cannot mount a tmpfs on $full (the test needs root)"
mount -t tmpfs -o ro,size=2m tmpfs "$ro" || fail "cannot mount a read-only tmpfs on $ro"

# --- read-only
run_df -c "$proj" volume snapshot "$vol" -o "$ro"
echo "read-only: exit $RC: $ERR"
((RC != 0)) || fail "a snapshot into a read-only folder exited 0"
assert_eq "" "$(find "$ro" -mindepth 1)" "entries written into the read-only tmpfs"
assert_eq "" "$(helpers_of -a "$vol")" "helper containers left after the read-only failure"
assert_contains "$ERR" "Read-only file system" "the error says the folder is read-only"
assert_contains "$ERR" "$ro" "the error names the folder"

# --- the volume snapshots into a writable folder
run_df -c "$proj" volume snapshot "$vol" -o "$TEST_TMP/ok"
assert_eq 0 "$RC" "snapshot into a writable folder afterwards"
assert_eq 2 "$(files_under "$TEST_TMP/ok" | wc -l)" "one data file and its sidecar"

# --- full
run_df -c "$proj" volume snapshot "$vol" -o "$full"
echo "full: exit $RC: $ERR"
((RC != 0)) || fail "a snapshot into a full folder exited 0"
assert_eq "" "$(files_under "$full")" "files left in the full tmpfs"
assert_eq "" "$(helpers_of -a "$vol")" "helper containers left after the full-disk failure"
assert_contains "$ERR" "No space left on device" "the error says there is no space"
assert_contains "$ERR" "$full" "the error names the folder"

pass
