#!/usr/bin/env bash
# stages: podman
# volume restore --stop-containers killed (SIGKILL) after the whole snapshot
# is extracted and verified, while the restore's helper waits for the go to
# swap (dockform is stopping the volume's user: its TERM trap takes seconds).
# The helper then sees the end of its input and exits without touching the
# volume: the live content is still exactly the old one, the staging folder
# holds the whole snapshot. The next restore --stop-containers removes the
# staging folder, adopts the stopped user, restores, says what it recovered,
# starts the user again and leaves no .dockform-* entry, helper, lock or
# stopped-containers record.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src_and_target killwaiting

fill_tricky "$src"
vol_exec "$src" sh -euc 'dd if=/dev/urandom of=/v/blob bs=1M count=20 2>/dev/null; echo new > /v/new.txt'
want=$(tree_listing "$src")
want_files=$(vol_exec "$src" sh -c 'cd /v && find . | sort')
snapshot_of "$src"

vol_exec "$target" sh -euc 'cd /v; echo old > old.txt; echo olddot > .olddot; mkdir -p keep && echo deep > keep/f'
old_live=$(live_listing "$target")

# The user takes about 4 s to stop: the window in which the helper waits for the go.
engine run -d --name "$app" --network none -v "$target:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" \
  sh -c 'trap "sleep 4; exit 0" TERM; sleep 3600 & wait' >/dev/null

"$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force --stop-containers --stop-timeout 30 \
  >"$TEST_TMP/killed.out" 2>"$TEST_TMP/killed.err" </dev/null &
df_pid=$!
# The stopped-containers record is written right before the stop, after the
# extraction, the flush and the checks.
deadline=$((SECONDS + 90))
until engine inspect "dockform-stopped-$target" >/dev/null 2>&1; do
  if ! kill -0 "$df_pid" 2>/dev/null; then
    cat "$TEST_TMP/killed.err" >&2
    fail "the restore ended before it stopped $app: could not kill it while its helper waits for the go"
  fi
  ((SECONDS < deadline)) || fail "no stopped-containers record appeared within 90 s"
  sleep 0.05
done
[[ -n $(helpers_of "$target") ]] || fail "no helper runs for $target while the restore stops $app"
kill -9 "$df_pid"
wait "$df_pid" 2>/dev/null || true
df_pid=
echo "--- stderr of the killed run:"
cat "$TEST_TMP/killed.err"

# The helper ends with its input and changes nothing.
deadline=$((SECONDS + 60))
while [[ -n $(helpers_of "$target") ]]; do
  ((SECONDS < deadline)) || fail "the helper still runs 60 s after the kill"
  sleep 0.2
done
assert_eq "$old_live" "$(live_listing "$target")" "live content after a kill while the helper waited for the go"
staged=$(vol_exec "$target" sh -c 'cd /v/.dockform-restore-* && find . | sort')
assert_eq "$want_files" "$staged" "the staging folder holds the whole snapshot after the kill"
names=$(vol_exec "$target" ls -a /v)
assert_not_contains "$names" ".dockform-swap-" "no swap journal: the swap never started"

# The next run recovers and restores.
run_df -c "$M" volume restore "$target" "$snap" --force --stop-containers --stop-timeout 30 --json
echo "--- stderr of the recovering run:"$'\n'"$ERR"
assert_eq 0 "$RC" "restore after the killed one"
assert_contains "$ERR" "removed .dockform-restore-" "the next run says it removed the staging folder"
assert_contains "$ERR" "left by an interrupted restore" "... left by an interrupted restore"
# The killed run's lock is a lease that ended with its connection (or, if the
# engine has not removed it yet, one this boot's dead process left): never a refusal.
assert_not_contains "$ERR" "another dockform run" "the next run is not refused by the killed run's lock"
assert_contains "$ERR" "containers stopped by an interrupted dockform run: $app" "the next run adopts the stopped user"
assert_eq "[\"$app\"]" "$(json_field --json containers_started)" "--json containers_started"
assert_eq "true" "$(engine inspect --format '{{.State.Running}}' "$app")" "$app runs again"
engine rm -f "$app" >/dev/null
assert_tree_is "$target" "$want" "tree after the recovering restore differs from the snapshot's source"
assert_no_leftovers "$target" "after the recovering restore"
engine inspect "dockform-stopped-$target" >/dev/null 2>&1 && fail "stopped-containers record left behind"

pass
