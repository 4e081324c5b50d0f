#!/usr/bin/env bash
# stages: podman
# slow
# Containers stopped by a run that is then killed. Before dockform stops the
# containers using a volume (snapshot or restore with --stop-containers) it
# creates a record container dockform-stopped-<volume> (never started; label
# io.dockform.stopped = the stopped ids, io.dockform.owner = the run) and
# removes it once they run again.
#  1. restore --force --stop-containers SIGKILLed (a) as soon as the user is
#     seen stopped, (b) once the swap's journal exists, its swap helper killed
#     too (as when the host goes down; alone, it would finish the swap by
#     itself) (the swap of a snapshot
#     with 1000 entries at its root into a volume with 1000 takes seconds, so
#     the windows are wide): the record stays, the user stays stopped; after (a) the next
#     `volume snapshot` (no flag) warns, naming the container, and leaves it
#     stopped and the record in place; the next `volume restore --force
#     --stop-containers` recovers the volume, starts the container, removes
#     the record and leaves exactly the snapshot's content; after (b) the next
#     restore says it finished the interrupted swap, then the same.
#  2. a record prepared by hand (owner: a pid that is gone) listing a stopped
#     container and a container removed since: `volume snapshot
#     --stop-containers` starts the container and removes the record.
#  2b. the same record while the container runs again: stopped, listed and
#     started once.
#  3. a record whose owner is alive (this shell): snapshot and restore are
#     refused (exit 3), nothing started, the record kept.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src_and_target faultstopped
record=dockform-stopped-$target

record_label() { engine inspect -f '{{index .Config.Labels "io.dockform.stopped"}}' "$record" 2>/dev/null; }
assert_no_record() {
  if engine inspect "$record" >/dev/null 2>&1; then
    fail "$1: the record $record is still there (io.dockform.stopped=$(record_label))"
  fi
  return 0
}
# $app notes each SIGTERM it gets in $TERMS (a file of the host's), then takes
# 2 s to exit: the moment a stop reaches it, seen without the engine's latency
# (see kill_restore_when).
start_app() { run_noting_user "$app" "$target" 2; }
boot_id=$(</proc/sys/kernel/random/boot_id)

# --- fixtures: the snapshot has 1000 entries at its root and 30 MB; the
# volume 1000 old ones: moving them one by one makes the swap last seconds.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$src" sh -euc '
  cd /v
  i=0; while [ $i -lt 1000 ]; do echo "new $i" > "n$i"; i=$((i+1)); done
  dd if=/dev/urandom of=blob bs=1M count=30 2>/dev/null
'
want=$(tree_listing "$src")
snapshot_of "$src" --level 1
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$target" sh -euc 'cd /v; i=0; while [ $i -lt 1000 ]; do echo "old $i" > "o$i"; i=$((i+1)); done'
start_app
app_id=$(engine inspect -f '{{.Id}}' "$app")
assert_eq true "$(running "$app")" "$app runs before the restore"

# ------------------------------------------------------------------ 1. real kills
# kill_restore_when stopped|journal: starts restore --force --stop-containers
# and SIGKILLs it as soon as $app is stopped, or as soon as the swap's
# journal .dockform-swap-* exists (looked for every 10 ms in the volume's
# folder on this host, the engine's Mountpoint: a watcher container's output
# reached the test after dockform had finished the swap and started $app).
# "Stopped": the SIGTERM of dockform's stop reaching $app freezes dockform
# (SIGSTOP) at once: its stop request is sent, and it cannot swap and start
# $app again (the engine's events and `inspect` lag by more than that window
# on a loaded machine). The engine finishes the stop by itself; once $app has
# exited, dockform is SIGKILLed.
kill_restore_when() {
  local when=$1 deadline=$((SECONDS + 60)) seen='' rc=0 journal terms mountpoint
  terms=$(wc -l <"$TERMS")
  mountpoint=$(engine volume inspect -f '{{.Mountpoint}}' "$target")
  [[ -d $mountpoint ]] || fail "the volume's folder $mountpoint is not on this host"
  "$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force --stop-containers \
    >"$TEST_TMP/killed.out" 2>"$TEST_TMP/killed.err" </dev/null &
  df_pid=$!
  while ((SECONDS < deadline)); do
    if [[ $when == stopped ]]; then
      if (($(wc -l <"$TERMS") > terms)); then
        kill -STOP "$df_pid" 2>/dev/null || break
        # Exited, not just no longer running: Podman reports a container that
        # is still stopping as not running, and a stop whose client is killed
        # then may not complete.
        until [[ $(engine inspect -f '{{.State.Status}}' "$app") == exited ]] || ((SECONDS >= deadline)); do
          sleep 0.1
        done
        kill -9 "$df_pid" 2>/dev/null && seen=1
        break
      fi
      sleep 0.02
    else
      for journal in "$mountpoint"/.dockform-swap-*; do
        [[ -f $journal ]] || continue
        kill -9 "$df_pid" 2>/dev/null && seen="journal $(cat "$journal" 2>/dev/null)"
        break 2
      done
      sleep 0.01
    fi
    kill -0 "$df_pid" 2>/dev/null || break
  done
  wait "$df_pid" || rc=$?
  df_pid=
  if [[ $when == journal && -n $seen ]]; then
    # The swap runs in its own helper container, which goes on after dockform
    # is killed and may finish the swap by itself. Kill it too, as the loss
    # of the whole host would: the journal must then be all that is left.
    for id in $(helpers_of "$target"); do
      engine kill "$id" >/dev/null 2>&1 || true
    done
  fi
  echo "--- run killed when $when (exit $rc, ${seen:-not seen}); its stderr:"
  cat "$TEST_TMP/killed.err"
  [[ -n $seen ]] || fail "the restore ended (exit $rc) before it could be killed when $when"
  assert_eq 137 "$rc" "exit status of the SIGKILLed restore"
  assert_eq false "$(running "$app")" "$app is stopped after the kill"
  engine inspect "$record" >/dev/null 2>&1 || fail "no record $record after a run killed while $app was stopped"
  assert_eq "$app_id" "$(record_label)" "the record lists $app's id"
  assert_eq "false|0001-01-01T00:00:00Z" "$(engine inspect -f '{{.State.Running}}|{{.State.StartedAt}}' "$record")" \
    "the record container was never started"
  echo "--- volume root after the kill: $(root_names "$target" | grep '^\.dockform-' | tr '\n' ' ')"
}

# 1a. Killed as soon as $app is stopped (the staging is complete; the swap may not have started).
kill_restore_when stopped

# The next snapshot without --stop-containers: warns, leaves all as it is.
run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/after"
snapshot_err=$ERR
echo "--- snapshot after the kill:"$'\n'"$ERR"
assert_eq 0 "$RC" "snapshot after the killed restore"
assert_contains "$ERR" "stopped by an interrupted" "the snapshot warns about containers stopped by the killed run"
assert_contains "$ERR" "$app" "the warning names $app"
assert_contains "$ERR" "--stop-containers" "the warning says how to have them started"
assert_eq false "$(running "$app")" "$app stays stopped after a snapshot without --stop-containers"
assert_eq "$app_id" "$(record_label)" "the record stays after a snapshot without --stop-containers"

# The next restore with --stop-containers: recovers, restores, starts $app.
run_df -c "$M" volume restore "$target" "$snap" --force --stop-containers --json
echo "--- restore after the kill:"$'\n'"$ERR"
assert_eq 0 "$RC" "restore --stop-containers after the killed run"
assert_contains "$ERR" "stopped by an interrupted" "the restore reports the containers the killed run stopped"
assert_contains "$ERR" "$app" "... naming $app"
# The snapshot already finishes or removes what the killed restore left in the
# volume (it must not archive it), so the message may come from either run.
assert_contains "$snapshot_err$ERR" "interrupted restore" "the snapshot or the restore says what it recovered in the volume"
assert_eq true "$(running "$app")" "$app runs again after the recovering restore"
assert_no_record "after the recovering restore"
assert_tree_is "$target" "$want" "the volume does not hold exactly the snapshot after the recovering restore"
assert_no_leftovers "$target" "after the recovering restore"

# 1b. Killed in the middle of the swap: $app stopped, the journal written.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$target" sh -euc 'cd /v; rm -rf -- ./*; i=0; while [ $i -lt 1000 ]; do echo "old $i" > "o$i"; i=$((i+1)); done'
kill_restore_when journal
# The swap moves all entries with one mv: it may complete before the kill
# lands. Either way the next restore must leave exactly the snapshot.
journal_left=false
[[ $(root_names "$target") == *".dockform-swap-"* ]] && journal_left=true
echo "--- journal left by the killed run: $journal_left"
run_df -c "$M" volume restore "$target" "$snap" --force --stop-containers
echo "--- restore after the kill in the swap:"$'\n'"$ERR"
assert_eq 0 "$RC" "restore --stop-containers after a run killed in the swap"
if $journal_left; then
  assert_contains "$ERR" "finished the swap of an interrupted restore" "the restore says it finished the interrupted swap"
fi
assert_contains "$ERR" "stopped by an interrupted" "the restore reports the containers the killed run stopped"
assert_eq true "$(running "$app")" "$app runs again after the recovering restore"
assert_no_record "after the restore that recovered the swap"
got=$(tree_listing "$target")
[[ $got == "$want" ]] || fail "the volume does not hold exactly the snapshot after recovering the swap"
assert_no_leftovers "$target" "after recovering the swap"

# ------------------------------------------------------------------ 2. hand-made record, owner gone
engine stop -t 5 "$app" >/dev/null
engine create --name "$record" --network none --log-driver none \
  --label "io.dockform.stopped=$app_id,0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
  --label "io.dockform.owner=$boot_id:99999999:1" "$DOCKFORM_TEST_BUSYBOX_IMAGE" true >/dev/null
run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/adopt" --stop-containers --json
echo "--- snapshot --stop-containers with a stale record:"$'\n'"$ERR"
assert_eq 0 "$RC" "snapshot --stop-containers with a record left by a gone owner"
assert_contains "$ERR" "stopped by an interrupted" "the snapshot reports the recorded containers"
assert_contains "$ERR" "$app" "... naming $app"
assert_eq true "$(running "$app")" "$app runs after snapshot --stop-containers adopted the record"
assert_contains "$OUT" "\"$app\"" "--json names $app as started"
assert_no_record "after snapshot --stop-containers"

# 2b. The recorded container runs again when the next run comes (started by
# hand since, or still in its stop when the killed run died): it is stopped,
# listed and started once, not once for the record and once as a user.
engine create --name "$record" --network none --log-driver none \
  --label "io.dockform.stopped=$app_id" \
  --label "io.dockform.owner=$boot_id:99999999:1" "$DOCKFORM_TEST_BUSYBOX_IMAGE" true >/dev/null
assert_eq true "$(running "$app")" "$app runs while the record names it"
run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/adopt" --stop-containers --json
assert_eq 0 "$RC" "snapshot --stop-containers with a record naming a running container"
assert_eq "[\"$app\"]" "$(json_field --json containers_stopped)" "--json containers_stopped names $app once"
assert_eq "[\"$app\"]" "$(json_field --json containers_started)" "--json containers_started names $app once"
assert_eq true "$(running "$app")" "$app runs after the snapshot"
assert_no_record "after snapshot --stop-containers of a running recorded container"

# ------------------------------------------------------------------ 3. record of a live run
me=$(my_owner)
engine stop -t 5 "$app" >/dev/null
engine create --name "$record" --network none --log-driver none \
  --label "io.dockform.stopped=$app_id" --label "io.dockform.owner=$me" \
  "$DOCKFORM_TEST_BUSYBOX_IMAGE" true >/dev/null
run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/live" --stop-containers
assert_eq 3 "$RC" "snapshot while a live run's record exists"
assert_contains "$ERR" "another dockform run" "refusal message of the snapshot"
assert_eq "" "$(find "$TEST_TMP/live" -type f 2>/dev/null)" "no file written by the refused snapshot"
run_df -c "$M" volume restore "$target" "$snap" --force --stop-containers
assert_eq 3 "$RC" "restore while a live run's record exists"
assert_contains "$ERR" "another dockform run" "refusal message of the restore"
assert_eq false "$(running "$app")" "$app was not started by the refused runs"
assert_eq "$app_id" "$(record_label)" "the live run's record is kept"
assert_no_leftovers "$target" "after the refusals"

pass
