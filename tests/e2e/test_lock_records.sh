#!/usr/bin/env bash
# stages: sanitize podman
# slow
# The stopped-containers record (dockform-stopped-VOL) follows the lock's rule:
# its holder is alive while the lease container the record names runs.
#  1. planted as a crashed machine leaves it (another boot id, its lease
#     gone): a snapshot without --stop-containers reports the container left
#     stopped and keeps the record; `unlock` shows it; a snapshot with
#     --stop-containers starts the container and removes the record.
#  2. a live holder on another host (its lease runs): snapshot refused with
#     exit 3 naming the holder; `unlock` refuses; `unlock --force` hands the
#     record over and the next --stop-containers run starts the container.
#  3. a live holder on this machine: refused with exit 3.
#  4. a real `snapshot --stop-containers`: while it runs, its record names a
#     running lease; SIGKILL ends that lease (the engine removes it) and the
#     next run starts the container again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vol=${PFX}data
app=${PFX}app
record=dockform-stopped-$vol
manifest_and_volumes recordtest "$vol"
IMG=$DOCKFORM_TEST_BUSYBOX_IMAGE
foreign=00000000-0000-0000-0000-000000000000
me=$(my_owner)
fault_trap "$record" "${PFX}lease"

fill_random "$vol" 30 4
engine run -d --name "$app" --network none --log-driver none -v "$vol:/data" "$IMG" sleep 3600 >/dev/null
app_id=$(engine inspect -f '{{.Id}}' "$app")
engine stop -t 1 "$app" >/dev/null
is_running() { [[ $(running "$1" 2>/dev/null) == true ]]; }

# plant_record OWNER LEASE: the record a run leaves after stopping $app.
plant_record() {
  engine create --name "$record" --network none --log-driver none \
    --label "io.dockform.stopped=$app_id" --label "io.dockform.owner=$1" --label "io.dockform.host=web-1" \
    --label "io.dockform.pid=4242" --label "io.dockform.since=2026-11-27T03:00:12Z" \
    --label "io.dockform.lease=$2" "$IMG" true >/dev/null
}
# hold_lease OWNER: a running lease held open by a docker client in the background.
hold_lease() {
  hold_open "${PFX}lease" --label "io.dockform.owner=$1" --label io.dockform.lease=60
  LEASE=$(engine inspect -f '{{.Id}}' "${PFX}lease")
}
drop_lease() {
  end_holder
  engine rm -f "${PFX}lease" >/dev/null 2>&1 || true
}
adopted() { # WHAT: a --stop-containers run starts $app and removes the record
  run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/snaps" --stop-containers --json
  assert_eq 0 "$RC" "$1: snapshot --stop-containers"
  assert_contains "$ERR" "containers stopped by an interrupted dockform run: $app" "$1: reported"
  is_running "$app" || fail "$1: $app was not started again"
  engine inspect "$record" >/dev/null 2>&1 && fail "$1: record left"
  engine stop -t 1 "$app" >/dev/null
}

# ------------------------------------------------------------------ 1. crashed machine
plant_record "$foreign:4242:1" 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/snaps"
assert_eq 0 "$RC" "1: snapshot without --stop-containers"
assert_contains "$ERR" "stopped by an interrupted dockform run are still stopped: $app" "1: reported"
is_running "$app" && fail "1: $app started without --stop-containers"
engine inspect "$record" >/dev/null 2>&1 || fail "1: record removed without --stop-containers"
run_df -c "$M" volume unlock "$vol"
assert_eq 0 "$RC" "1: unlock with a record whose holder is gone"
assert_contains "$OUT" "stopped by dockform pid 4242 on host web-1 since 2026-11-27T03:00:12Z: $app; its holder is gone" "1: unlock shows the record"
assert_contains "$OUT" "--stop-containers\` starts them again" "1: unlock says how they are started"
adopted 1

# ------------------------------------------------------------------ 2. live holder on another host
hold_lease "$foreign:4242:1"
plant_record "$foreign:4242:1" "$LEASE"
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/snaps" --stop-containers
assert_eq 3 "$RC" "2: snapshot while a live holder's record exists"
assert_contains "$ERR" "stopped by another dockform run (held by dockform pid 4242 on host web-1 since 2026-11-27T03:00:12Z)" "2: refusal names the holder"
assert_contains "$ERR" "dockform volume unlock $vol" "2: refusal names the way out"
is_running "$app" && fail "2: $app started while the holder lives"
run_df -c "$M" volume unlock "$vol"
assert_eq 3 "$RC" "2: unlock without --force"
assert_contains "$OUT" "kept" "2: unlock keeps the record"
run_df -c "$M" volume unlock "$vol" --force
assert_eq 0 "$RC" "2: unlock --force"
engine inspect "$record" >/dev/null 2>&1 || fail "2: unlock --force removed the record (it must hand it over)"
adopted 2
drop_lease

# ------------------------------------------------------------------ 3. live holder on this machine
hold_lease "$me"
plant_record "$me" "$LEASE"
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/snaps" --stop-containers
assert_eq 3 "$RC" "3: snapshot while this machine's live holder's record exists"
assert_contains "$ERR" "stopped by another dockform run" "3: refusal"
drop_lease
# Its lease ended (the holder's connection closed): the record is adopted.
adopted "3 after the holder ended"

# ------------------------------------------------------------------ 4. a real run, SIGKILLed
engine start "$app" >/dev/null
"$DOCKFORM" -c "$M" volume snapshot "$vol" -o "$TEST_TMP/killed" --stop-containers --level 1 >/dev/null 2>"$TEST_TMP/4.err" </dev/null &
df_pid=$!
lease=""
for ((i = 0; i < 1500; i++)); do
  lease=$(engine inspect -f '{{index .Config.Labels "io.dockform.lease"}}' "$record" 2>/dev/null || true)
  [[ -n $lease ]] && ! is_running "$app" && break
  kill -0 "$df_pid" 2>/dev/null || fail "4: the snapshot ended first: $(cat "$TEST_TMP/4.err")"
  sleep 0.02
done
[[ -n $lease ]] || fail "4: no record with a lease while the snapshot ran"
kill -STOP "$df_pid" # holds it there, whatever the snapshot's speed
is_running "$lease" || fail "4: the record's lease $lease does not run while its holder runs"
kill -9 "$df_pid"
wait "$df_pid" 2>/dev/null || true
df_pid=""
for ((i = 0; i < 100; i++)); do engine inspect "$lease" >/dev/null 2>&1 || break; sleep 0.1; done
engine inspect "$lease" >/dev/null 2>&1 && fail "4: the lease of the killed run is still there"
is_running "$app" && fail "4: $app runs although the killed run stopped it"
adopted 4

pass
