#!/usr/bin/env bash
# stages: podman
# Snapshot hooks from container labels (io.dockform.snapshot.pre/.post/.timeout):
#   the pre hook's file is in the snapshot, the post hook ran afterwards, both
#   as the container's own user, their output at info level and in --json;
#   with --stop-containers: pre, stop, snapshot, start, post;
#   a failing pre hook writes nothing (exit 1, its output in the error) and the
#   post hook still runs; a hook that outlives its timeout (label, --hook-timeout)
#   fails the same way; a failing post hook is exit 1 with the snapshot kept;
#   a stopped container with hooks gets none, with a warning.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vol=${PFX}data
app=${PFX}app
manifest_and_volumes hooktest "$vol"
vol_exec "$vol" sh -euc 'echo base > /v/base.txt; chmod 777 /v'

# app NAME PRE POST [docker run flags...]: a running user of the volume with hooks.
app() {
  local name=$1 pre=$2 post=$3
  shift 3
  engine rm -f "$name" >/dev/null 2>&1 || true
  run_user "$name" "$vol" --user 65534:65534 \
    --label "io.dockform.snapshot.pre=$pre" --label "io.dockform.snapshot.post=$post" "$@"
}
members() { tar --zstd -tf "$1"; }
snapshots_in() { find "$1" -name '*.tar.zst' 2>/dev/null | wc -l; }

# --- 1. pre and post hooks around a snapshot. ---
app "$app" 'echo dumped > /data/dump.txt; echo "pre says $(id -u)"' 'echo post > /data/post.txt; echo "post says hi"'
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/s1" --json
assert_eq 0 "$RC" "snapshot with hooks"
snap=$(json_field data_file)
members "$snap" | grep -x './dump.txt' >/dev/null || fail "the pre hook's file is not in the snapshot: $(members "$snap")"
members "$snap" | grep -x './post.txt' >/dev/null && fail "the post hook ran before the snapshot"
assert_eq post "$(vol_exec "$vol" cat /v/post.txt)" "the post hook ran"
assert_eq "pre says 65534" "$(json_field hooks.0.output)" "pre hook ran as the container's user, output in --json"
assert_eq "pre post" "$(jq -r '[.hooks[].phase] | join(" ")' <<<"$OUT")" "hook order in --json"
assert_contains "$ERR" "pre hook ($app): pre says 65534" "pre hook output at info level"
assert_contains "$ERR" "post hook ($app): post says hi" "post hook output at info level"

# --- 2. with --stop-containers: pre, stop, snapshot, start, post. ---
vol_exec "$vol" rm -f /v/dump.txt /v/post.txt
started=$(engine inspect --format '{{.State.StartedAt}}' "$app")
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/s2" --stop-containers --json
assert_eq 0 "$RC" "snapshot with hooks and --stop-containers"
members "$(json_field data_file)" | grep -x './dump.txt' >/dev/null || fail "pre hook file missing with --stop-containers"
assert_eq "[\"$app\"]" "$(json_field --json containers_stopped)" "the container was stopped"
[[ $(engine inspect --format '{{.State.StartedAt}}' "$app") != "$started" ]] || fail "the container was not restarted"
assert_eq post "$(vol_exec "$vol" cat /v/post.txt)" "the post hook ran in the restarted container"
log=$ERR
pre_at=${log%%running pre hook*}
stop_at=${log%%stopping container $app*}
start_at=${log%%started container $app again*}
post_at=${log%%running post hook*}
((${#pre_at} < ${#stop_at} && ${#stop_at} < ${#start_at} && ${#start_at} < ${#post_at})) ||
  fail "order is not pre, stop, start, post: $log"

# --- 3. a failing pre hook: nothing written, exit 1, post still runs. ---
vol_exec "$vol" rm -f /v/post.txt
app "$app" 'echo cannot-flush; exit 3' 'echo post > /data/post.txt'
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/s3"
assert_eq 1 "$RC" "snapshot with a failing pre hook"
assert_contains "$ERR" "pre hook in container $app exited with 3: cannot-flush" "the hook's output in the error"
assert_eq 0 "$(snapshots_in "$TEST_TMP/s3")" "nothing written after a failing pre hook"
assert_eq post "$(vol_exec "$vol" cat /v/post.txt)" "the post hook ran after the failing pre hook"

# --- 4. timeouts: the label, then --hook-timeout. ---
vol_exec "$vol" rm -f /v/post.txt
app "$app" 'sleep 30' 'echo post > /data/post.txt' --label io.dockform.snapshot.timeout=2
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/s4"
assert_eq 1 "$RC" "snapshot whose pre hook outlives the label's timeout"
assert_contains "$ERR" "pre hook in container $app timed out after 2 s" "timeout message with the label's timeout"
assert_eq 0 "$(snapshots_in "$TEST_TMP/s4")" "nothing written after a timed-out pre hook"
assert_eq post "$(vol_exec "$vol" cat /v/post.txt)" "the post hook ran after the timeout"
app "$app" 'sleep 30' 'true'
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/s4" --hook-timeout 1
assert_eq 1 "$RC" "snapshot with --hook-timeout 1"
assert_contains "$ERR" "timed out after 1 s" "--hook-timeout is used"

# --- 5. a failing post hook: exit 1, the snapshot stays. ---
app "$app" 'true' 'echo cleanup-broke; exit 4'
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/s5" --json
assert_eq 1 "$RC" "snapshot with a failing post hook"
assert_contains "$ERR" "post hook in container $app exited with 4: cleanup-broke" "post failure reported"
assert_eq 1 "$(snapshots_in "$TEST_TMP/s5")" "the snapshot stays after a failing post hook"
assert_contains "$(json_field hook_error)" "exited with 4" "hook_error in --json"

# --- 6. a stopped container with hooks: none run, a warning. ---
engine stop "$app" >/dev/null
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/s6" --json
assert_eq 0 "$RC" "snapshot while the hooked container is stopped"
assert_contains "$ERR" "container $app (exited) has snapshot hooks for volume $vol but does not run" "warning"
assert_eq "[]" "$(json_field hooks)" "no hook ran"
assert_contains "$(json_field warnings)" "does not run" "the warning in --json"
pass
