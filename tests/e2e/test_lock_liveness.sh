#!/usr/bin/env bash
# stages: podman
# slow
# The volume lock (dockform-lock-VOL) is a running lease container whose life
# is tied to its holder's engine connection. Planted as each kind of holder
# leaves it:
#  A. a crashed machine (another boot id): the lease has ended (exited), or the
#     holder died between creating and starting it (created): the next restore
#     takes it over without a human, naming the holder.
#  B. a live holder on another host (its connection open): restore and snapshot
#     are refused with exit 3, naming host, pid, since and `volume unlock`;
#     `unlock` without --force refuses and keeps it. Once that holder dies (its
#     client is killed) the engine ends the lock and the next restore succeeds.
#  C. a live holder on this machine: refused; `unlock` refuses, `unlock
#     --force` removes it. A holder of this boot whose pid is gone is taken
#     over at once although its lease container still runs (fast path).
#  D. a lock of dockform 0.6 (never started, another boot): refused with the
#     way out; `unlock --force` removes it.
#  E. a real restore SIGKILLed while it holds the lock: a second run takes over
#     at once and restores; nothing is left.
#  F. a real restore SIGSTOPped (a vanished holder) with a 3 s lease: the
#     engine ends its lock, a second restore succeeds; the first, resumed,
#     fails without touching the volume again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=${PFX}src
target=${PFX}target
lock=dockform-lock-$target
manifest_and_volumes locktest "$src" "$target"
IMG=$DOCKFORM_TEST_BUSYBOX_IMAGE
boot=$(</proc/sys/kernel/random/boot_id)
foreign=00000000-0000-0000-0000-000000000000
me=$(my_owner)

# (A run stopped with SIGSTOP still dies of fault_trap's SIGKILL.)
fault_trap "$lock"

vol_exec "$src" sh -c 'echo one > /v/a; mkdir /v/d; echo two > /v/d/b' || fail "filling $src"
snapshot_of "$src"
want=$(tree_listing "$src")

# lock_labels OWNER HOST [LEASE]: the labels a holder writes (LEASE "" = dockform 0.6).
lock_labels() {
  LABELS=(--label "io.dockform.lock=$target" --label "io.dockform.owner=$1")
  [[ -z $2 ]] || LABELS+=(--label "io.dockform.host=$2" --label "io.dockform.pid=4242"
    --label "io.dockform.since=2026-11-27T03:00:12Z")
  [[ -z ${3-60} ]] || LABELS+=(--label "io.dockform.lease=${3-60}")
}
# hold_lock OWNER HOST: a running lock whose stdin is held open by a docker
# client in the background (the holder's connection), as dockform holds it.
hold_lock() {
  lock_labels "$1" "$2"
  hold_open "$lock" "${LABELS[@]}"
}
# wait_lock_gone WHAT: waits until the lock container is gone (the engine removes an ended lease).
wait_lock_gone() { wait_gone "$lock" "$1"; }
restore_ok() { # WHAT: a restore succeeds, leaves the snapshot's tree and no lock
  run_df -c "$M" volume restore "$target" "$snap" --force
  assert_eq 0 "$RC" "$1: restore"
  assert_eq "$want" "$(tree_listing "$target")" "$1: restored tree"
  if engine inspect "$lock" >/dev/null 2>&1; then fail "$1: lock container left behind"; fi
}
refused() { # WHAT: restore and snapshot refused with the holder and the way out
  run_df -c "$M" volume restore "$target" "$snap" --force
  assert_eq 3 "$RC" "$1: restore while held"
  assert_contains "$ERR" "being restored by another dockform run (held by $2" "$1: refusal names the holder"
  assert_contains "$ERR" "dockform volume unlock $target" "$1: refusal names the way out"
  run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/locked"
  assert_eq 3 "$RC" "$1: snapshot while held"
  assert_contains "$ERR" "held by $2" "$1: snapshot refusal names the holder"
  engine inspect "$lock" >/dev/null 2>&1 || fail "$1: the held lock was removed"
}

# ------------------------------------------------------------------ A. crashed machine
lock_labels "$foreign:77:1" web-1
engine run --name "$lock" --network none --log-driver none "${LABELS[@]}" "$IMG" true
run_df -c "$M" volume restore "$target" "$snap" --force
assert_eq 0 "$RC" "A1: restore over an ended lease of a crashed machine"
assert_contains "$ERR" "taking over the lock on volume $target left by an interrupted run (dockform pid 4242 on host web-1 since 2026-11-27T03:00:12Z)" "A1: takeover named"
assert_eq "$want" "$(tree_listing "$target")" "A1: restored tree"
engine inspect "$lock" >/dev/null 2>&1 && fail "A1: lock left behind"

engine create --name "$lock" --network none --log-driver none "${LABELS[@]}" "$IMG" true >/dev/null
run_df -c "$M" volume restore "$target" "$snap" --force
assert_eq 0 "$RC" "A2: restore over a lease created but never started (holder died in between)"
assert_contains "$ERR" "taking over the lock on volume $target" "A2: takeover named"
engine inspect "$lock" >/dev/null 2>&1 && fail "A2: lock left behind"

# ------------------------------------------------------------------ B. live holder on another host
hold_lock "$foreign:4242:1" web-1
refused B "dockform pid 4242 on host web-1 since 2026-11-27T03:00:12Z"
run_df -c "$M" volume unlock "$target"
assert_eq 3 "$RC" "B: unlock without --force while the holder may run"
assert_contains "$OUT" "held by dockform pid 4242 on host web-1 since 2026-11-27T03:00:12Z" "B: unlock shows the holder"
assert_contains "$OUT" "not removed" "B: unlock says it kept the lock"
engine inspect "$lock" >/dev/null 2>&1 || fail "B: unlock without --force removed the lock"
run_df -c "$M" volume unlock "$target" --json
assert_eq 3 "$RC" "B: unlock --json"
python3 - "$OUT" <<'EOF' || fail "B: unlock --json document"
import json, sys
d = json.loads(sys.argv[1])
assert d["lock"]["host"] == "web-1" and d["lock"]["pid"] == 4242, d
assert d["lock"]["since"] == "2026-11-27T03:00:12Z" and d["lock"]["holder"] == "alive", d
assert d["lock"]["removed"] is False and d["refused"] is True, d
EOF
# The holder's machine dies: its connection closes, the engine ends the lease
# (and removes it) as soon as it sees that; no human is needed.
end_holder
wait_lock_gone "B: the dead holder's lease"
restore_ok "B: after the remote holder died"

# ------------------------------------------------------------------ C. live holder on this machine
hold_lock "$me" "$(hostname)"
refused C "dockform pid 4242 on host $(hostname)"
run_df -c "$M" volume unlock "$target"
assert_eq 3 "$RC" "C: unlock without --force"
run_df -c "$M" volume unlock "$target" --force
assert_eq 0 "$RC" "C: unlock --force"
assert_contains "$OUT" "removed" "C: unlock --force says so"
assert_contains "$ERR" "although its holder may still run" "C: unlock --force warns"
engine inspect "$lock" >/dev/null 2>&1 && fail "C: unlock --force left the lock"
end_holder
wait_lock_gone "C"
run_df -c "$M" volume unlock "$target"
assert_eq 0 "$RC" "C: unlock of an unlocked volume"
assert_contains "$OUT" "is not locked" "C: unlock says not locked"
# Fast path: a holder of this boot whose process is gone, its lease still running.
hold_lock "$boot:99999999:1" "$(hostname)"
restore_ok "C: fast path (same boot, pid gone)"
assert_contains "$ERR" "taking over the lock on volume $target" "C: fast path takeover named"
end_holder

# ------------------------------------------------------------------ D. dockform 0.6 lock of another boot
lock_labels "$foreign:9:9" "" ""
engine create --name "$lock" --network none --log-driver none "${LABELS[@]}" "$IMG" true >/dev/null
run_df -c "$M" volume restore "$target" "$snap" --force
assert_eq 3 "$RC" "D: restore with a 0.6 lock of another machine"
assert_contains "$ERR" "dockform volume unlock $target" "D: the refusal names the way out"
run_df -c "$M" volume unlock "$target"
assert_eq 3 "$RC" "D: unlock without --force"
assert_contains "$OUT" "may still be running" "D: unlock says the holder cannot be judged"
run_df -c "$M" volume unlock "$target" --force
assert_eq 0 "$RC" "D: unlock --force"
restore_ok "D: after unlock --force"

# ------------------------------------------------------------------ E. SIGKILL of a real holder
fill_random "$src" 30 4
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/snaps" --level 1 --json
assert_eq 0 "$RC" "snapshot of the grown $src"
snap=$(json_field data_file)
want=$(tree_listing "$src")
# start_holder WHAT: a real restore in the background, once its lock runs and
# its helper extracts. It reads the snapshot from standard input, of which it
# gets the first 64 KiB only (feed_rest gives the rest): it holds the lock
# until killed, where a restore of the file could end before it was seen
# (CI run 29, on Podman: "the holder ended first").
start_holder() {
  [[ -p $TEST_TMP/holder.fifo ]] || mkfifo "$TEST_TMP/holder.fifo"
  "$DOCKFORM" -c "$M" volume restore "$target" - --force <"$TEST_TMP/holder.fifo" >"$TEST_TMP/h.out" \
    2>"$TEST_TMP/h.err" &
  df_pid=$!
  exec {holder_fd}>"$TEST_TMP/holder.fifo"
  head -c 65536 "$snap" >&"$holder_fd"
  local i
  for ((i = 0; i < 600; i++)); do
    if [[ $(engine inspect -f '{{.State.Running}}' "$lock" 2>/dev/null) == true ]] &&
      [[ -n $(helpers_of "$target") ]]; then
      return 0
    fi
    kill -0 "$df_pid" 2>/dev/null || fail "$1: the holder ended first: $(cat "$TEST_TMP/h.err")"
    sleep 0.05
  done
  fail "$1: the holder never held the lock"
}
# feed_rest: the rest of the snapshot to the holder (if it still reads), then its end.
feed_rest() {
  tail -c +65537 "$snap" >&"$holder_fd" 2>/dev/null || true
  exec {holder_fd}>&-
}
start_holder E
kill -9 "$df_pid"
wait "$df_pid" 2>/dev/null || true
df_pid=""
feed_rest
restore_ok "E: the run after a SIGKILLed holder"
assert_not_contains "$ERR" "try again" "E: not refused"

# ------------------------------------------------------------------ F. a holder that vanishes (SIGSTOP)
export DOCKFORM_LOCK_LEASE_SECONDS=3
start_holder F
kill -STOP "$df_pid"
wait_lock_gone "F: lease of a stopped holder"
restore_ok "F: the run after the lease ended"
kill -CONT "$df_pid"
# The whole snapshot: the resumed holder has every byte and must still not swap.
feed_rest
rc=0
wait "$df_pid" || rc=$?
df_pid=""
((rc != 0)) || fail "F: the resumed holder exited 0 after losing its lock: $(cat "$TEST_TMP/h.err")"
assert_eq "$want" "$(tree_listing "$target")" "F: the resumed holder changed the volume"
unset DOCKFORM_LOCK_LEASE_SECONDS
if [[ -n $(helpers_of -a "$target") ]]; then
  fail "F: helper containers left: $(engine ps -a --filter label=io.dockform.helper)"
fi

pass
