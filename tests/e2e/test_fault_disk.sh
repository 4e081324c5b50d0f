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

# failed_into DIR WHAT SAYS LEFT...: a snapshot into DIR (a WHAT folder) fails
# with an error that says SAYS and names DIR, the command LEFT prints nothing
# (what the run left in DIR) and no helper container is left.
failed_into() {
  local dir=$1 what=$2 says=$3
  shift 3
  run_df -c "$proj" volume snapshot "$vol" -o "$dir"
  echo "$what: exit $RC: $ERR"
  ((RC != 0)) || fail "a snapshot into a $what folder exited 0"
  assert_eq "" "$("$@")" "left in the $what tmpfs"
  assert_eq "" "$(helpers_of -a "$vol")" "helper containers left after the $what failure"
  assert_contains "$ERR" "$says" "the error says why ($what)"
  assert_contains "$ERR" "$dir" "the error names the folder"
}

# --- read-only: not even an empty folder
failed_into "$ro" read-only "Read-only file system" find "$ro" -mindepth 1

# --- the volume snapshots into a writable folder
run_df -c "$proj" volume snapshot "$vol" -o "$TEST_TMP/ok"
assert_eq 0 "$RC" "snapshot into a writable folder afterwards"
assert_eq 2 "$(files_under "$TEST_TMP/ok" | wc -l)" "one data file and its sidecar"

# --- full: no file
failed_into "$full" full "No space left on device" files_under "$full"

pass
