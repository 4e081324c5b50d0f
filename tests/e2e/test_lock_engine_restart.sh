#!/usr/bin/env bash
# The engine restarts (SIGTERM to dockerd, as a service restart does) while a
# restore holds the volume's lock. The test starts a second private engine of
# its own for this (the shared one is never touched). The restart ends the
# lease container: the holder, resumed, fails with a non-zero exit; the
# restarted engine shows no lock that blocks, and the next restore succeeds
# with exactly the snapshot's tree and nothing left over.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

df_pid=
_restart_exit() {
  local rc=$?
  set +e
  [[ -z $df_pid ]] || { kill -CONT "$df_pid"; kill -9 "$df_pid"; } 2>/dev/null
  second_engine_stop
  (exit "$rc")
  _on_exit
}
trap _restart_exit EXIT

second_engine_start
dockform_build_test_images busybox || fail "could not build the busybox image in the second engine"
export DOCKFORM_HELPER_IMAGE=$DOCKFORM_TEST_BUSYBOX_IMAGE

src=${PFX}src
target=${PFX}target
lock=dockform-lock-$target
manifest_and_volumes restarttest "$src" "$target"
fill_random "$src" 30 4
snapshot_of "$src" --level 1
want=$(tree_listing "$src")
vol_exec "$target" sh -c 'echo old > /v/old.txt' || fail "filling $target"

"$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/h.out" 2>"$TEST_TMP/h.err" </dev/null &
df_pid=$!
held=""
for ((i = 0; i < 600; i++)); do
  if [[ $(engine inspect -f '{{.State.Running}}' "$lock" 2>/dev/null) == true ]] &&
    [[ -n $(helpers_of "$target") ]]; then
    held=1
    break
  fi
  kill -0 "$df_pid" 2>/dev/null || break
  sleep 0.05
done
[[ -n $held ]] || fail "the restore never held the lock: $(cat "$TEST_TMP/h.err")"
kill -STOP "$df_pid" # the lock stays held across the whole restart
dockform_engine_restart || fail "the engine did not restart"
kill -CONT "$df_pid"
wait_exit "$df_pid" 60 "the holder after the engine's restart"
df_pid=
((rc != 0)) || fail "the restore that held the lock across an engine restart exited 0: $(cat "$TEST_TMP/h.err")"
echo "--- the holder after the restart: exit $rc; stderr:"$'\n'"$(cat "$TEST_TMP/h.err")"

if engine inspect "$lock" >/dev/null 2>&1; then
  state=$(engine inspect -f '{{.State.Status}}' "$lock")
  [[ $state != running ]] || fail "the lock container runs again after the engine restart"
fi
run_df -c "$M" volume restore "$target" "$snap" --force
assert_eq 0 "$RC" "restore after the engine restart"
assert_not_contains "$ERR" "try again" "the restore after the restart is not refused"
assert_eq "$want" "$(tree_listing "$target")" "restored tree after the restart"
engine inspect "$lock" >/dev/null 2>&1 && fail "lock container left after the restore"
left=$(engine ps -aq --filter label=io.dockform.helper)
assert_eq "" "$left" "helper containers left"

pass
