#!/usr/bin/env bash
# The Docker Engine dies (kill -9 of dockerd) in the middle of a snapshot of
# ~200 MB. The test starts a second private engine of its own for this
# (scripts/lib/engine.sh; the shared one is never touched) and builds the
# busybox test image there. dockform must end within 15 s with exit 4 (engine
# unreachable) and an error that says the engine connection failed, and leave neither a
# final-named file nor a temporary file (.dockform-tmp-*).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

on_fault_exit() { second_engine_stop; }
fault_trap
second_engine_start
dockform_build_test_images busybox || fail "could not build the busybox image in the second engine"
export DOCKFORM_HELPER_IMAGE=$DOCKFORM_TEST_BUSYBOX_IMAGE

proj=$TEST_TMP/proj
vol=${PFX}big
write_manifest "$proj" faultengine "$vol"
engine volume create "$vol" >/dev/null
fill_random "$vol" 20 10

out=$TEST_TMP/snaps
"$DOCKFORM" -c "$proj" volume snapshot "$vol" -o "$out" --level 1 >"$TEST_TMP/s.out" 2>"$TEST_TMP/s.err" </dev/null &
df_pid=$!
wait_until "$df_pid" temp_file_over "$out" "$vol" 30 ||
  fail "the snapshot ended before the engine could be killed: $(cat "$TEST_TMP/s.err")"
kill -9 "$(cat "$DOCKFORM_ENGINE_DIR/dockerd.pid")"
wait_exit "$df_pid" 15 "after the engine was killed; its stderr: $(cat "$TEST_TMP/s.err")"
df_pid=
err=$(cat "$TEST_TMP/s.err")
echo "--- snapshot with the engine killed: exit $rc; stderr:"$'\n'"$err"
((rc != 0)) || fail "the snapshot exited 0 although the engine died mid-stream"
assert_eq 4 "$rc" "exit code when the engine goes away (4: engine unreachable)"
assert_contains "$err" "error" "an error is printed"
[[ $err == *[Ee]ngine* || $err == *"connect"* || $err == *"connection"* ]] ||
  fail "the error does not say the engine connection failed: [$err]"
left=$(find "$out" -mindepth 1 -not -type d 2>/dev/null || true)
assert_eq "" "$left" "files left after the engine died (final-named or temporary)"

pass
