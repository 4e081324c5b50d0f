#!/usr/bin/env bash
# stages: podman
# volume restore and the containers using the volume: refused (exit 3, both
# names listed) without --stop-containers, nothing stopped and nothing changed;
# with --stop-containers the running one is stopped for the swap and started
# again (new StartedAt), the stopped one stays stopped.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data=${PFX}data
app=${PFX}app
idle=${PFX}idle
tricky_source restoretest "$data"
snapshot_of "$src"

vol_exec "$data" sh -euc 'echo live > /v/live.txt; mkdir /v/d; echo x > /v/d/x; echo h > /v/.hidden'
before=$(tree_listing "$data")

# A running user (sleep 3600; the trap lets `docker stop` end it at once) and a
# container that was created but never started.
run_user "$app" "$data"
engine create --name "$idle" --network none -v "$data:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" true >/dev/null
app_before=$(state_of "$app")
assert_eq "true" "${app_before%%|*}" "$app runs before the restore"
assert_eq "false|0001-01-01T00:00:00Z" "$(state_of "$idle")" "$idle was never started"

# --- Without --stop-containers: refused, nothing touched. ---
run_df -c "$M" volume restore "$data" "$snap" --force
assert_eq 3 "$RC" "restore while containers use the volume"
assert_contains "$ERR" "containers are using volume $data" "refusal message"
assert_contains "$ERR" "$app" "refusal names the running container"
assert_contains "$ERR" "$idle" "refusal names the stopped container"
assert_contains "$ERR" "--stop-containers" "refusal names --stop-containers"
assert_eq "$app_before" "$(state_of "$app")" "$app still running, not restarted, after the refusal"
assert_eq "false|0001-01-01T00:00:00Z" "$(state_of "$idle")" "$idle untouched by the refusal"
assert_eq "$before" "$(tree_listing "$data")" "volume unchanged after the refusal"

# --- With --stop-containers: restored; the running one restarted. ---
run_df -c "$M" volume restore "$data" "$snap" --force --stop-containers --json
assert_eq 0 "$RC" "restore --force --stop-containers"
assert_eq "[\"$app\"]" "$(json_field --json containers_stopped)" "--json containers_stopped"
assert_eq "[\"$app\"]" "$(json_field --json containers_started)" "--json containers_started"
app_after=$(state_of "$app")
assert_eq "true" "${app_after%%|*}" "$app runs again after the restore"
[[ $app_after != "$app_before" ]] || fail "$app was not restarted: StartedAt unchanged ($app_after)"
assert_eq "false|0001-01-01T00:00:00Z" "$(state_of "$idle")" "$idle is still stopped (never started)"
assert_tree_is "$data" "$want" "tree of $data after restore differs from the snapshot source"
# The restarted container sees the restored content through its mount.
assert_eq "hello" "$(engine exec "$app" cat "/data/dir with spaces/nested/deeper/file.txt")" \
  "the restarted container sees the restored files"
engine exec "$app" test ! -e /data/live.txt || fail "the restarted container still sees the old live.txt"

pass
