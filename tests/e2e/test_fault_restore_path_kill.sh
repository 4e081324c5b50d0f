#!/usr/bin/env bash
# slow
# volume restore --path --stop-containers killed in its partial swap (the
# helper held by strace at one rename): the helper alone killed in phase 1,
# then dockform and the helper SIGKILLed in phase 2. Each time the volume is
# recovered to the new subtrees entirely (by the run itself, then by the
# next snapshot), every other file keeps its content, inode and mtime, and
# the user runs again (test_restore_path.sh has the rest of --path).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_strace

src_and_target restorepath

# shellcheck source-path=SCRIPTDIR source=restore_path_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/restore_path_lib.sh"
# $app notes each SIGTERM in $TERMS (the kill tests below wait for it).
run_noting_user "$app" "$target" 1
wait_running "$app"
# --- kills in the swap ------------------------------------------------------
mountpoint=$(engine volume inspect -f '{{.Mountpoint}}' "$target")
[[ -d $mountpoint ]] || fail "the volume's folder $mountpoint is not on this host"
# restore_frozen_at N CONDITION: starts the restore (--stop-containers, in the
# background: $df_pid) and returns once its helper is held by strace at its
# Nth rename after the users were stopped, with the function CONDITION true.
# The partial swap's renames: 1 the journal at phase 1, 2 data/db aside,
# 3 etc/app.conf aside, 4 the journal at phase 2, 5 data/db in, 6 deep in.
restore_frozen_at() {
  restore_held_at_rename "$TERMS" "$1" "$2" \
    "$DOCKFORM" -c "$M" volume restore "$target" "$snap" "${PATHS[@]}" --stop-containers
  echo "--- helper ${helper:0:12} held at rename $1: $(head -1 "$mountpoint"/.dockform-swap-* 2>/dev/null)"
}

echo "=== the helper killed in phase 1 (data/db moved aside): the run finishes the swap"
fill_live
rest_before=$(rest "$target")
stamps_before=$(stamps)
phase1_held() { compgen -G "$mountpoint/.dockform-old-*/data/db" >/dev/null; }
restore_frozen_at 3 phase1_held
kill_held_helper
rc=0
wait "$df_pid" || rc=$?
df_pid=
[[ $rc != 0 ]] || fail "the restore exited 0 after its helper was killed"
assert_contains "$(<"$TEST_TMP/run.err")" "the swap was finished" "the run says it finished the swap"
wait_running "$app"
check_restored "helper killed in phase 1"

echo "=== dockform and the helper killed in phase 2 (data/db in, deep/ not): the next run finishes it"
fill_live
rest_before=$(rest "$target")
stamps_before=$(stamps)
phase2_held() { [[ -d $mountpoint/data/db/sub && ! -e $mountpoint/deep ]]; }
restore_frozen_at 6 phase2_held
kill -KILL "$df_pid"
wait "$df_pid" 2>/dev/null || true
df_pid=
kill_held_helper
# A snapshot of the volume finishes the swap first (it never archives a half-swapped volume).
run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/after"
assert_eq 0 "$RC" "snapshot after the kill: $ERR"
assert_contains "$ERR" "finished the swap of an interrupted restore" "the snapshot says it finished the swap"
assert_contains "$ERR" "3 paths" "the journal named the 3 paths"
check_restored "dockform killed in phase 2, then a snapshot"
# The next restore starts the user that the killed run stopped. (Not of
# deep/a: deep/ is there now, and its mtime would be the swap's.)
run_df -c "$M" volume restore "$target" "$snap" --path data/db --path etc/app.conf --stop-containers
assert_eq 0 "$RC" "restore after the kill: $ERR"
wait_running "$app"
check_restored "the restore after the kill"
pass
