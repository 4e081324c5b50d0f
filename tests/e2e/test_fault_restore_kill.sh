#!/usr/bin/env bash
# volume restore killed (SIGKILL) at several points, and the run after it.
#  (a) right after the staging folder .dockform-restore-ID appears;
#  (b) late in the extraction (the staging folder holds more than half of a
#      ~240 MB snapshot);
#  (c) during the swap: volume states prepared by hand exactly as the protocol
#      of src/volume/staging.cpp leaves them when killed in phase 1 (journal
#      "1", some old entries moved into .dockform-old-ID, a stale journal .tmp),
#      phase 2 (journal "2", every old entry moved, some new ones moved to the
#      root, the root's mode still the old one) and phase 3 (journal "3", the
#      old folder half removed);
#  (d) `volume snapshot` as the run after a killed restore (last: see below);
#  (e) a lock that is not stale: its owner runs, or is on another machine.
# After a kill during the extraction the live content is the old one. The next
# run says what it recovered (stderr), rolls an interrupted swap forward (the
# new content, whole: checked with a restore refused after the recovery), then
# does its own work; no .dockform-* entry, helper container or lock container
# (dockform-lock-VOL) remains. (test_restore_kill.sh covers a kill shortly
# after the extracting helper starts, followed by a restore of the same file.)
#
# The staging folder is watched from a busybox container labelled
# io.dockform.helper (without an owner label): dockform does not count such a
# container as a user of the volume and does not remove it, so the restore is
# not refused because of the watcher.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd

big=${PFX}big     # ~240 MB: the snapshot that is killed while it extracts
src1=${PFX}src1   # fill_tricky: S1, the "new" content of the prepared swaps
src2=${PFX}src2   # a few small files: S2, what the next run restores
target=${PFX}target
fresh=${PFX}fresh # an empty volume to look into a snapshot
manifest_and_volumes faultkill "$big" "$src1" "$src2" "$target" "$fresh"

# Remove what a killed run leaves that is not named with $PFX (its lock), and
# the killed process if still there, then lib.sh's cleanup.
fault_trap "dockform-lock-$target"

# set_old_content: empties $target and writes the known "old" content.
set_old_content() {
  vol_exec "$target" sh -euc '
    cd /v
    rm -rf -- ./* ./.[!.]* ./..?* 2>/dev/null || true
    echo old > old.txt
    echo olddot > .olddot
    mkdir -p keep/sub && echo deep > keep/sub/f
    echo last > zz-last.txt
    chmod 755 /v
  '
}

# --- the watcher: prints "mb=N" (size of each staging folder) every 20 ms
WFD=
watch_start() {
  exec {WFD}< <(engine run --rm --name "${PFX}watch" --label io.dockform.helper=test-watcher \
    --network none --log-driver none -v "$target:/v:ro" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c '
      echo ready
      while :; do
        for d in /v/.dockform-restore-*; do
          [ -d "$d" ] && echo "mb=$(du -sm "$d" | cut -f1)"
        done
        usleep 20000
      done' 2>/dev/null)
  local line
  read -r -t 30 -u "$WFD" line || fail "the watcher container did not start"
  assert_eq ready "$line" "watcher start"
}
watch_stop() {
  engine rm -f "${PFX}watch" >/dev/null 2>&1 || true
  exec {WFD}<&-
}
# kill_restore_at MB SNAPSHOT: starts `volume restore $target SNAPSHOT --force`
# and SIGKILLs it as soon as a staging folder holds more than MB megabytes (-1:
# as soon as it exists). Sets KILLED_AT to the watcher's last line.
KILLED_AT=
kill_restore_at() {
  local threshold=$1 snap=$2 line rc=0 deadline=$((SECONDS + 60))
  watch_start
  "$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/killed.out" 2>"$TEST_TMP/killed.err" </dev/null &
  df_pid=$!
  KILLED_AT=
  while ((SECONDS < deadline)); do
    if read -r -t 1 -u "$WFD" line; then
      [[ $line =~ ^mb=([0-9]+)$ ]] || continue
      if ((BASH_REMATCH[1] > threshold)); then
        kill -9 "$df_pid" 2>/dev/null || true
        KILLED_AT=$line
        break
      fi
    elif ! kill -0 "$df_pid" 2>/dev/null; then
      break
    fi
  done
  wait "$df_pid" || rc=$?
  df_pid=
  watch_stop
  echo "--- killed run (exit $rc, watcher: ${KILLED_AT:-nothing}); its stderr:"
  cat "$TEST_TMP/killed.err"
  [[ -n $KILLED_AT ]] || fail "the restore ended (exit $rc) before it could be killed at > $threshold MB"
  assert_eq 137 "$rc" "exit status of the SIGKILLed restore"
}

# ------------------------------------------------------------------ fixtures
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$big" sh -euc '
  cd /v && mkdir data
  i=0
  while [ $i -lt 60 ]; do dd if=/dev/urandom of=data/blob$i bs=1M count=4 2>/dev/null; i=$((i+1)); done
  echo new > new.txt
'
fill_tricky "$src1"
vol_exec "$src2" sh -euc '
  cd /v
  echo second > second.txt
  mkdir -p s2dir/inner && echo inner > s2dir/inner/f
  echo dot2 > .dot2
  chmod 701 /v
'
snapshot_of "$big" --level 1
S_big=$snap
snapshot_of "$src1" --level 1
S1=$snap
snapshot_of "$src2" --level 1
S2=$snap
want1=$(tree_listing "$src1")
want2=$(tree_listing "$src2")

# ------------------------------------------------------------------ (a) early kill
set_old_content
old_live=$(live_listing "$target")
kill_restore_at -1 "$S_big"
names=$(root_names "$target")
assert_contains "$names" ".dockform-restore-" "(a) the staging folder is there after the kill"
assert_same_lines "$old_live" "$(live_listing "$target")" "(a) after a kill early in the extraction the live content must be the old one"
# The killed run's helper exits and is removed on its own once the engine sees
# its stdin closed with the connection, which may happen while the next run
# starts: whichever ends it, none is left afterwards (checked below), and a
# helper the next run removed is named.
run_df -c "$M" volume restore "$target" "$S2" --force --json
echo "--- run after (a):"$'\n'"$ERR"
assert_eq 0 "$RC" "(a) restore of S2 after the killed run"
assert_contains "$ERR" "removed .dockform-restore-" "(a) the next run says it removed the staging folder"
assert_contains "$ERR" "left by an interrupted restore" "(a) ... left by an interrupted restore"
# The killed run's lock is a lease on its connection: gone already, or taken over.
assert_not_contains "$ERR" "another dockform run" "(a) the next run is not refused by the killed run's lock"
helper_left=$(helpers_of -a "$target")
[[ -z $helper_left ]] || fail "(a) a helper container is left on $target after the next run: $helper_left"
if [[ $ERR == *"helper container"* ]]; then
  assert_contains "$ERR" "left behind by an interrupted run" "(a) a removed helper is named as the killed run's"
fi
assert_contains "$OUT" '"recovered"' "(a) --json has recovered"
assert_not_contains "$OUT" '"recovered": []' "(a) --json recovered is not empty"
assert_same_lines "$want2" "$(tree_listing "$target")" "(a) after the next restore the volume must hold exactly S2"
assert_no_leftovers "$target" "(a)"

# ------------------------------------------------------------------ (b) late kill
set_old_content
old_live=$(live_listing "$target")
kill_restore_at 125 "$S_big"
staged_mb=$(vol_exec "$target" sh -c 'du -sm /v/.dockform-restore-* | cut -f1')
((staged_mb > 125)) || fail "(b) the staging folder holds only $staged_mb MB after the kill"
echo "(b) killed with $staged_mb MB staged"
assert_same_lines "$old_live" "$(live_listing "$target")" "(b) after a kill late in the extraction the live content must be the old one"
run_df -c "$M" volume restore "$target" "$S1" --force
echo "--- run after (b):"$'\n'"$ERR"
assert_eq 0 "$RC" "(b) restore of S1 after the killed run"
assert_contains "$ERR" "left by an interrupted restore" "(b) the next run says it removed the staging folder"
# The killed run's lock is a lease on its connection: gone already, or taken over.
assert_not_contains "$ERR" "another dockform run" "(b) the next run is not refused by the killed run's lock"
assert_same_lines "$want1" "$(tree_listing "$target")" "(b) after the next restore the volume must hold exactly S1"
assert_no_leftovers "$target" "(b)"

# ------------------------------------------------------------------ (c) killed during the swap
# prepare_swap PHASE ID: $target holds the old content, S1 is staged in
# .dockform-restore-ID (extracted by the same tar command the busybox helper
# runs), and the swap is interrupted in PHASE:
#  1: journal "1"; old.txt and .olddot moved into .dockform-old-ID; a journal
#     .tmp holding "2" (killed while switching to phase 2).
#  2: journal "2"; every old entry in .dockform-old-ID; .dotfile, random.bin
#     and "dir with spaces" moved from the staging folder to the root; the root
#     still has the old mode (755; S1's is 750).
#  3: journal "3"; every new entry at the root with S1's root mode; the staging
#     folder empty; the old folder half removed.
prepare_swap() {
  local phase=$1 id=$2
  set_old_content
  # shellcheck disable=SC2016 # expanded by the container's shell
  zstd -q -dc "$S1" | engine run -i --rm --name "${PFX}prep" --network none --log-driver none \
    -v "$target:/v" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -euc '
      phase=$1 id=$2 s=.dockform-restore-$2 o=.dockform-old-$2
      cd /v
      mkdir "$s" && (cd "$s" && tar -xf - --numeric-owner)
      sync
      mkdir "$o"
      case $phase in
        1)
          echo 1 > ".dockform-swap-$id"
          mv old.txt .olddot "$o/"
          echo 2 > ".dockform-swap-$id.tmp"
          ;;
        2)
          echo 2 > ".dockform-swap-$id"
          mv old.txt .olddot keep zz-last.txt "$o/"
          mv "$s/.dotfile" "$s/random.bin" "$s/dir with spaces" ./
          ;;
        3)
          echo 3 > ".dockform-swap-$id"
          mv old.txt .olddot keep zz-last.txt "$o/"
          for e in "$s"/.[!.]* "$s"/..?* "$s"/*; do
            [ -e "$e" ] || [ -L "$e" ] || continue
            mv "$e" ./
          done
          chown "$(stat -c %u:%g "$s")" . && chmod "$(stat -c %a "$s")" .
          rm -rf "$o/keep" "$o/old.txt"
          ;;
      esac
      ls -a /v' sh "$phase" "$id" >"$TEST_TMP/prep.out" || fail "preparing the phase $phase state"
  echo "--- prepared phase $phase: $(tr '\n' ' ' <"$TEST_TMP/prep.out")"
  names=$(root_names "$target")
  assert_contains "$names" ".dockform-swap-$id" "phase $phase: the journal is in place"
}

# c1: phase 1, then a restore without --force: the recovery finishes the swap,
# then the restore is refused (the volume is not empty), so what is left is
# the recovered state itself: exactly S1.
prepare_swap 1 c1c1c1c1c1c1
run_df -c "$M" volume restore "$target" "$S2"
echo "--- run after c1:"$'\n'"$ERR"
assert_eq 3 "$RC" "c1: restore without --force after an interrupted phase 1 (refused: not empty)"
assert_contains "$ERR" "finished the swap of an interrupted restore (c1c1c1c1c1c1, phase 1)" "c1: the run says it finished the swap"
assert_contains "$ERR" "not empty" "c1: then refuses the non-empty volume"
assert_same_lines "$want1" "$(tree_listing "$target")" "c1: a swap interrupted in phase 1 must be rolled forward to exactly S1"
assert_no_leftovers "$target" "c1"

# c2: phase 2, then restore S2 --force: recovery, then S2 replaces it.
prepare_swap 2 c2c2c2c2c2c2
run_df -c "$M" volume restore "$target" "$S2" --force --json
echo "--- run after c2:"$'\n'"$ERR"
assert_eq 0 "$RC" "c2: restore of S2 after an interrupted phase 2"
assert_contains "$ERR" "finished the swap of an interrupted restore (c2c2c2c2c2c2, phase 2)" "c2: the run says it finished the swap"
assert_contains "$OUT" "finished the swap of an interrupted restore" "c2: --json recovered says so too"
assert_same_lines "$want2" "$(tree_listing "$target")" "c2: after the recovery and the restore the volume must hold exactly S2"
assert_no_leftovers "$target" "c2"

# c3: phase 2, then a restore of a damaged S2 (one byte flipped, sidecar
# beside it): the recovery rolls forward to S1, then the checksum refuses.
mkdir -p "$TEST_TMP/bad"
cp "$S2" "$TEST_TMP/bad/bad.tar.zst"
cp "${S2%.tar.zst}.json" "$TEST_TMP/bad/bad.json"
flip_byte "$TEST_TMP/bad/bad.tar.zst" half 0x01
prepare_swap 2 c3c3c3c3c3c3
run_df -c "$M" volume restore "$target" "$TEST_TMP/bad/bad.tar.zst" --force
echo "--- run after c3:"$'\n'"$ERR"
assert_eq 3 "$RC" "c3: restore of a damaged snapshot after an interrupted phase 2"
assert_contains "$ERR" "finished the swap of an interrupted restore (c3c3c3c3c3c3, phase 2)" "c3: the run says it finished the swap"
assert_same_lines "$want1" "$(tree_listing "$target")" "c3: a swap interrupted in phase 2 must be rolled forward to exactly S1"
assert_no_leftovers "$target" "c3"

# c4: phase 3 (the new content in place, the old one half deleted).
prepare_swap 3 c4c4c4c4c4c4
run_df -c "$M" volume restore "$target" "$S2"
echo "--- run after c4:"$'\n'"$ERR"
assert_eq 3 "$RC" "c4: restore without --force after an interrupted phase 3 (refused: not empty)"
assert_contains "$ERR" "finished the swap of an interrupted restore (c4c4c4c4c4c4, phase 3)" "c4: the run says it finished the swap"
assert_same_lines "$want1" "$(tree_listing "$target")" "c4: a swap interrupted in phase 3 must end as exactly S1"
assert_no_leftovers "$target" "c4"

# ------------------------------------------------------------------ (e) a lock that is not stale
# Locks as dockform 0.6 wrote them (never started, no lease): one whose owner
# runs (this shell), and one whose owner is on another machine (another boot
# id: it cannot be judged; test_lock_liveness.sh covers leases): restore and snapshot are
# refused with exit 3, the volume and the lock stay as they are. (A lock
# whose owner is gone is taken over: (a), (b).)
kept=$(tree_listing "$target")
for owner in "$(my_owner)" "00000000-0000-0000-0000-000000000000:1:1"; do
  engine create --name "dockform-lock-$target" --network none --log-driver none \
    --label "io.dockform.lock=$target" --label "io.dockform.owner=$owner" \
    "$DOCKFORM_TEST_BUSYBOX_IMAGE" true >/dev/null
  run_df -c "$M" volume restore "$target" "$S2" --force
  assert_eq 3 "$RC" "restore while the lock is held by $owner"
  assert_contains "$ERR" "being restored by another dockform run (held by dockform pid" "restore refusal"
  assert_contains "$ERR" "(owner $owner)" "restore refusal names the owner"
  run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/locked"
  assert_eq 3 "$RC" "snapshot while the lock is held by $owner"
  assert_contains "$ERR" "another dockform run" "snapshot refusal message"
  assert_eq "" "$(find "$TEST_TMP/locked" -type f 2>/dev/null)" "files written by the refused snapshot"
  assert_eq "$owner" "$(engine inspect -f '{{index .Config.Labels "io.dockform.owner"}}' "dockform-lock-$target")" \
    "the lock held by $owner is kept"
  assert_eq "$kept" "$(tree_listing "$target")" "the locked volume is unchanged"
  engine rm -f "dockform-lock-$target" >/dev/null
done

# ------------------------------------------------------------------ (d) a snapshot as the next run
# A snapshot taken after a killed restore must not archive the killed run's
# staging folder or a half-swapped root: it must recover first (as a restore
# does) and say so. Problems are collected so that both cases run.
problems=()
# archive_names FILE: the member names of a .tar.zst.
archive_names() { zstd -q -dc "$1" | tar -tf - 2>/dev/null; }

# snapshot_after CASE WHAT SAYS LISTING WANT HOLDS: a snapshot of $target
# after WHAT succeeds, archives no .dockform-* member, says SAYS, and,
# restored into $fresh, holds WANT as the function LISTING shows it (HOLDS:
# what WANT is).
snapshot_after() {
  local case=$1 what=$2 says=$3 listing=$4 want=$5 holds=$6 data members
  run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/$case" --json
  echo "--- snapshot after $case:"$'\n'"$ERR"
  if ((RC != 0)); then
    problems+=("$case: snapshot after $what failed (exit $RC): $ERR")
    return 0
  fi
  data=$(json_field data_file)
  members=$(archive_names "$data")
  [[ $members != *".dockform-"* ]] ||
    problems+=("$case: the snapshot taken after $what archives $(grep -c '\.dockform-' <<<"$members") members named .dockform-*")
  [[ $ERR == *"$says"* ]] || problems+=("$case: the snapshot does not say [$says]")
  run_df -c "$M" volume restore "$fresh" "$data" --force
  if ((RC != 0)); then
    problems+=("$case: the snapshot taken after $what does not restore (exit $RC): $ERR")
  elif [[ $("$listing" "$fresh") != "$want" ]]; then
    problems+=("$case: the snapshot does not hold exactly $holds")
  fi
}

# d1: a restore killed early (staging folder, helper and lock left), then a
# snapshot: it holds the old content.
set_old_content
old_live=$(live_listing "$target")
kill_restore_at -1 "$S_big"
snapshot_after d1 "a killed restore" "interrupted restore" live_listing "$old_live" "the live (old) content"
names=$(root_names "$target")
[[ $names != *".dockform-"* ]] || problems+=("d1: after the snapshot, $target still holds: $(grep '\.dockform-' <<<"$names" | tr '\n' ' ')")
left=$(helpers_of -a "$target")
[[ -z $left ]] || problems+=("d1: helper containers left for $target after the snapshot")
engine inspect "dockform-lock-$target" >/dev/null 2>&1 &&
  problems+=("d1: the killed restore's lock container dockform-lock-$target is still there after the snapshot")

# d2: a swap interrupted in phase 2, then a snapshot: it must hold S1 (rolled
# forward), not the mix of old and new entries at the root.
engine rm -f "dockform-lock-$target" >/dev/null 2>&1 || true
prepare_swap 2 d2d2d2d2d2d2
snapshot_after d2 "an interrupted swap" "finished the swap of an interrupted restore" tree_listing "$want1" \
  "S1 (the rolled-forward content)"
[[ $(tree_listing "$target") == "$want1" ]] ||
  problems+=("d2: after the snapshot, $target does not hold exactly S1 (the swap was not finished)")

if ((${#problems[@]} > 0)); then
  RC=""
  fail "$(printf '\n  %s' "${problems[@]}")"
fi

pass
