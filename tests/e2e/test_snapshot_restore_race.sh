#!/usr/bin/env bash
# stages: podman
# slow
# A snapshot and a restore of the same volume never overlap. Each snapshot is
# held mid-stream deterministically: it writes to a fifo that the test does
# not read until the other run is over (40 MB of incompressible files cannot
# fit in the pipes between the helper and the fifo).
#  a. a restore while a snapshot of a 400-file volume streams is refused
#     (exit 3) naming the snapshot's run (pid, host, since); the volume is
#     unchanged, and the snapshot completes with all 400 files exactly;
#  c. two snapshots of the volume at once both complete, each exactly;
#     `volume unlock` meanwhile shows both readers running and keeps them;
#  b. a snapshot while a restore holds the lock (its input held back) is
#     refused (exit 3) naming the restore's run; the restore then completes;
#  d. a snapshot held mid-stream and hit by SIGHUP exits 1 and leaves no
#     reader lease, helper or lock.
#  e. a reader lease whose holder is gone: `volume unlock` shows and removes
#     it; a restore ignores (and removes) it.
# After each, no reader lease (label io.dockform.read) is left for the volume.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd

vol=${PFX}vol
other=${PFX}other
manifest_and_volumes snaprace "$vol" "$other"

# The background runs (pid list) are killed when the test ends early.
bg_pids=()
_race_exit() {
  local rc=$? pid
  set +e
  for pid in "${bg_pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  engine rm -f "dockform-lock-$vol" "dockform-read-$vol-stale" >/dev/null 2>&1
  (exit "$rc")
  _on_exit
}
trap _race_exit EXIT

# 400 files of 100 KiB of random bytes, in 4 folders.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$vol" sh -euc '
  for d in 0 1 2 3; do
    mkdir /v/d$d
    i=0
    while [ $i -lt 100 ]; do dd if=/dev/urandom of=/v/d$d/f$i bs=100k count=1 2>/dev/null; i=$((i+1)); done
  done' || fail "filling $vol"
vol_exec "$other" sh -euc 'echo replaced > /v/new.txt; dd if=/dev/urandom of=/v/blob bs=1M count=4 2>/dev/null'
want=$(tree_listing "$vol")
# Each file's hash, as the snapshot's members must hold them.
want_sums=$(vol_exec "$vol" sh -c 'cd /v && find . -type f | sort | xargs sha256sum')
run_df -c "$M" volume snapshot "$other" -o "$TEST_TMP/snaps" --json
assert_eq 0 "$RC" "snapshot of $other"
other_snap=$(json_field data_file)

readers_of() { engine ps -aq --filter "label=io.dockform.read=$1"; }

# held_snapshot NAME: starts a snapshot of $vol to standard output into the
# fifo $TEST_TMP/NAME.fifo, opened for reading on a new fd whose number goes
# to HELD_FD; the snapshot's pid goes to HELD_PID. Nothing is read yet.
held_snapshot() {
  local name=$1 fd
  mkfifo "$TEST_TMP/$name.fifo"
  "$DOCKFORM" -c "$M" volume snapshot "$vol" -o - --level 1 --sidecar "$TEST_TMP/$name.json" \
    >"$TEST_TMP/$name.fifo" 2>"$TEST_TMP/$name.err" </dev/null &
  HELD_PID=$!
  bg_pids+=("$HELD_PID")
  exec {fd}<"$TEST_TMP/$name.fifo"
  HELD_FD=$fd
}

# wait_helpers N: waits (up to 60 s) until N helper containers run on $vol.
wait_helpers() {
  local deadline=$((SECONDS + 60))
  until (($(helpers_of "$vol" | wc -l) >= $1)); do
    ((SECONDS < deadline)) || fail "$1 snapshot helper(s) of $vol expected within 60 s"
    sleep 0.1
  done
}

# drain NAME FD PID: reads the held snapshot into $TEST_TMP/NAME.tar.zst and
# sets RC, ERR to its exit code and stderr.
drain() {
  local name=$1 fd=$2 pid=$3
  cat <&"$fd" >"$TEST_TMP/$name.tar.zst"
  exec {fd}<&-
  RC=0
  wait "$pid" || RC=$?
  ERR=$(<"$TEST_TMP/$name.err")
  OUT=""
}

# assert_exact NAME: the snapshot $TEST_TMP/NAME.tar.zst holds the 400 files
# with the content they had before.
assert_exact() {
  local name=$1 got count
  local dir=$TEST_TMP/$name.x
  mkdir "$dir"
  zstd -dcq "$TEST_TMP/$name.tar.zst" | tar -xf - -C "$dir" || fail "$name: the snapshot does not extract"
  count=$(find "$dir" -type f | wc -l)
  assert_eq 400 "$count" "$name: files in the snapshot"
  got=$(cd "$dir" && find . -type f | sort | xargs sha256sum)
  [[ $got == "$want_sums" ]] || fail "$name: the snapshot's files differ from the volume's"
  assert_not_contains "$ERR" "vanished" "$name: no file vanished during the snapshot"
}

assert_no_readers() {
  assert_eq "" "$(settled readers_of "$vol")" "$1: reader lease left for $vol"
  assert_no_leftovers "$vol" "$1"
}

# --- a. a restore while a snapshot streams the volume: refused --------------
echo "--- a. restore during a snapshot"
held_snapshot a
a_fd=$HELD_FD a_pid=$HELD_PID
wait_helpers 1
run_df -c "$M" volume restore "$vol" "$other_snap" --force
restore_rc=$RC restore_err=$ERR
drain a "$a_fd" "$a_pid"
assert_eq 0 "$RC" "a: the snapshot during the refused restore"
assert_exact a
RC=$restore_rc ERR=$restore_err
assert_eq 3 "$RC" "a: the restore during a snapshot"
assert_contains "$ERR" "is being read by a snapshot" "a: refusal"
assert_contains "$ERR" "dockform pid $a_pid on host $(hostname) since 20" "a: the refusal names the snapshot's run"
assert_volume_untouched "$vol" "$want" "a: after the refused restore"
assert_no_readers "a"

# --- c. two snapshots at once: both complete ------------------------------
echo "--- c. two snapshots at once"
held_snapshot c1
c1_fd=$HELD_FD c1_pid=$HELD_PID
wait_helpers 1
held_snapshot c2
c2_fd=$HELD_FD c2_pid=$HELD_PID
# Both helpers stream at once: each snapshot passed its checks while the other held the volume.
wait_helpers 2
# `volume unlock` shows both readers as running, keeps them and exits 3.
run_df -c "$M" volume unlock "$vol" --json
assert_eq 3 "$RC" "c: unlock while two snapshots read"
assert_eq 2 "$(grep -c '"holder": "alive"' <<<"$OUT")" "c: running readers unlock shows"
assert_eq alive "$(json_field readers.1.holder)" "c: the second reader's holder"
assert_eq false "$(json_field readers.0.removed)" "c: a running reader is kept"
drain c1 "$c1_fd" "$c1_pid"
assert_eq 0 "$RC" "c: the first snapshot"
assert_exact c1
drain c2 "$c2_fd" "$c2_pid"
assert_eq 0 "$RC" "c: the second snapshot"
assert_exact c2
assert_no_readers "c"

# --- d. SIGHUP to a snapshot held mid-stream: its reader lease goes ---------
echo "--- d. SIGHUP during a snapshot"
held_snapshot d
d_fd=$HELD_FD d_pid=$HELD_PID
wait_helpers 1
[[ -n $(readers_of "$vol") ]] || fail "d: the running snapshot holds no reader lease"
kill -HUP "$d_pid"
drain d "$d_fd" "$d_pid"
assert_eq 1 "$RC" "d: the snapshot hit by SIGHUP"
assert_contains "$ERR" "interrupted by SIGHUP" "d: the snapshot says why it stopped"
assert_no_readers "d"

# plant_stale_reader: a reader lease whose holder is gone (ended, as a
# lease whose holder died without AutoRemove having run yet).
plant_stale_reader() {
  engine create --name "dockform-read-$vol-stale" --label "io.dockform.read=$vol" --label io.dockform.lease=60 \
    --label "io.dockform.owner=00000000-0000-0000-0000-000000000000:4242:1" --label io.dockform.pid=4242 \
    --label io.dockform.host=gone-host "$DOCKFORM_TEST_BUSYBOX_IMAGE" true >/dev/null
  engine start "dockform-read-$vol-stale" >/dev/null
}

# --- e. a stale reader lease: shown and removed by unlock, ignored by a restore
echo "--- e. stale reader leases"
plant_stale_reader
run_df -c "$M" volume unlock "$vol"
assert_eq 0 "$RC" "e: unlock with a stale reader"
assert_contains "$OUT" "snapshot reading volume $vol: dockform pid 4242 on host gone-host" "e: unlock shows it"
assert_contains "$OUT" "its holder is gone" "e: unlock says the holder is gone"
assert_eq "" "$(readers_of "$vol")" "e: unlock removed the stale reader"
plant_stale_reader

# --- b. a snapshot while a restore holds the lock: refused -----------------
echo "--- b. snapshot during a restore (a stale reader lease left: ignored)"
mkfifo "$TEST_TMP/restore.fifo"
"$DOCKFORM" -c "$M" volume restore "$vol" - --force <"$TEST_TMP/restore.fifo" >"$TEST_TMP/restore.out" \
  2>"$TEST_TMP/restore.err" &
r_pid=$!
bg_pids+=("$r_pid")
exec {r_fd}>"$TEST_TMP/restore.fifo"
# Its first 64 KiB: the restore passes its checks, takes the lock and waits for the rest.
head -c 65536 "$other_snap" >&"$r_fd"
deadline=$((SECONDS + 60))
until [[ $(running "dockform-lock-$vol" 2>/dev/null) == true ]]; do
  ((SECONDS < deadline)) || fail "b: the restore did not take the lock within 60 s: $(<"$TEST_TMP/restore.err")"
  sleep 0.1
done
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/snaps_b"
assert_eq 3 "$RC" "b: the snapshot during a restore"
assert_contains "$ERR" "is being restored by another dockform run" "b: refusal"
assert_contains "$ERR" "dockform pid $r_pid on host $(hostname) since 20" "b: the refusal names the restore's run"
assert_eq "" "$(settled readers_of "$vol")" "b: the refused snapshot's reader lease"
tail -c +65537 "$other_snap" >&"$r_fd"
exec {r_fd}>&-
rc=0
wait "$r_pid" || rc=$?
assert_eq 0 "$rc" "b: the restore after the refused snapshot ($(<"$TEST_TMP/restore.err"))"
assert_eq "replaced" "$(vol_exec "$vol" cat /v/new.txt)" "b: the restored content"
assert_no_readers "b"

pass
