#!/usr/bin/env bash
# stages: podman
# --stop-containers stops with each container's own stop timeout, as `docker
# stop` does: a container made with --stop-timeout 2 whose PID 1 ignores
# SIGTERM is killed (exit 137) after its 2 s, for the snapshot and for the
# restore, and the reported downtime covers that wait. --stop-timeout
# overrides a container's long timeout. The bounds are generous on purpose
# (a loaded machine is slow): a fixed 30 s wait would exceed the first ones
# (28 s), the container's own 120 s the last ones (90 s).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vol=${PFX}data
app=${PFX}stubborn
manifest_and_volumes stoptest "$vol"
vol_exec "$vol" sh -c 'echo hello > /v/hello.txt'

stubborn() { # TIMEOUT: a user of the volume whose PID 1 ignores SIGTERM
  local since
  remove_now "$app" >/dev/null 2>&1 || true
  since=$(date +%s)
  id=$(engine run -d --name "$app" --network none --stop-timeout "$1" -v "$vol:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" \
    sh -c 'trap "" TERM; while :; do sleep 1; done')
  exits=$TEST_TMP/exits.$1
  watch_exits "$id" "$since" "$exits"
  ends=0
}
# killed WHAT: the container ended once more, of SIGKILL (exit code 137) sent
# when its stop timeout ran out. (State.ExitCode is reset when it is started
# again, so the engine's events tell.) Every end of this container so far was
# such a kill, one per run.
killed() {
  local want
  ends=$((ends + 1))
  want=$(printf '137\n%.0s' $(seq "$ends"))
  assert_eq "${want%$'\n'}" "$(wait_lines "$exits" "$ends" "$1")" "$1: killed once after its stop timeout"
}

stubborn 2
start=$SECONDS
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/snaps" --stop-containers --json
took=$((SECONDS - start))
assert_eq 0 "$RC" "snapshot with --stop-containers"
snap=$(json_field data_file)
killed "snapshot"
assert_eq true "$(engine inspect --format '{{.State.Running}}' "$app")" "started again after the snapshot"
((took < 28)) || fail "the snapshot took ${took}s: the container's own 2 s timeout was not used"

start=$SECONDS
run_df -c "$M" volume restore "$vol" "$snap" --force --stop-containers --json
took=$((SECONDS - start))
assert_eq 0 "$RC" "restore with --stop-containers"
killed "restore"
python3 -c 'import sys; t=float(sys.argv[1]); sys.exit(0 if 1.5 <= t < 28 else 1)' "$(json_field downtime_seconds)" ||
  fail "downtime $(json_field downtime_seconds) s does not cover the 2 s stop wait"
((took < 28)) || fail "the restore took ${took}s: the container's own 2 s timeout was not used"

# A container asking for 120 s, stopped with --stop-timeout 1.
stubborn 120
start=$SECONDS
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/snaps" --stop-containers --stop-timeout 1
took=$((SECONDS - start))
assert_eq 0 "$RC" "snapshot with --stop-timeout 1"
killed "--stop-timeout 1"
((took < 90)) || fail "the snapshot took ${took}s: --stop-timeout was not used"
start=$SECONDS
run_df -c "$M" volume restore "$vol" "$snap" --force --stop-containers --stop-timeout 1
took=$((SECONDS - start))
assert_eq 0 "$RC" "restore with --stop-timeout 1"
killed "restore --stop-timeout 1"
((took < 90)) || fail "the restore took ${took}s: --stop-timeout was not used"
pass
