#!/usr/bin/env bash
# stages: sanitize
# volume restore interrupted by SIGINT and by SIGTERM while it extracts
# (~150 MB), and by SIGINT while its helper flushes: dockform exits 1 with
# "interrupted by SIG...; cleaned up", reports no failed cleanup, and leaves
# the volume with its old content (or, had the signal come after the swap,
# exactly the snapshot's), with no .dockform-* entry, no helper container and
# no lock container. The next restore works.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

big_and_target restoresignals

# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$big" sh -euc '
  cd /v
  i=0
  while [ $i -lt 30 ]; do dd if=/dev/urandom of=blob$i bs=1M count=5 2>/dev/null; i=$((i+1)); done
  echo new > new.txt
'
new_tree=$(tree_listing "$big")
snapshot_of "$big" --level 1

# fill_target: the target's old content, afresh for each case (a case whose
# signal came after the swap leaves the snapshot's content behind).
fill_target() {
  vol_exec "$target" sh -euc '
    cd /v
    rm -rf ./* ./.[!.]* 2>/dev/null || true
    echo old > old.txt
    mkdir -p keep/sub && echo deep > keep/sub/f
  '
  old_tree=$(tree_listing "$target")
}

# start_restore SIG: a restore --force of $snap into $target in the
# background ($df_pid), once the target has its old content again; returns
# when its helper runs ($helper).
start_restore() {
  fill_target
  echo "--- SIG$1"
  "$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/sig.out" 2>"$TEST_TMP/sig.err" </dev/null &
  df_pid=$!
  until_extracting "$df_pid" "$target" "$TEST_TMP/sig.err" 90
  helper=$EXTRACTING_HELPER
}

# outcome SIG [after-swap-allowed]: waits for the signalled restore and checks
# it: exit 1, "interrupted by SIG...; cleaned up", no failed cleanup, the old
# content. With a second argument, a signal that came after the swap may also
# end in exit 0 with the snapshot's content.
outcome() {
  local sig=$1 rc=0 err deadline=$((SECONDS + 30))
  while kill -0 "$df_pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "SIG$sig: dockform still runs 30 s after the signal"
    sleep 0.1
  done
  wait "$df_pid" || rc=$?
  df_pid=
  err=$(<"$TEST_TMP/sig.err")
  echo "exit $rc; stderr:"$'\n'"$err" >&2
  assert_not_contains "$err" "could not" "SIG$sig: a cleanup was reported as failed"
  if ((rc == 0)) && [[ -n ${2:-} ]]; then
    assert_eq "$new_tree" "$(tree_listing "$target")" "SIG$sig: after a finished restore the volume holds the snapshot"
    assert_no_leftovers "$target" "SIG$sig"
    return 0
  fi
  assert_eq 1 "$rc" "SIG$sig: exit code"
  assert_contains "$err" "interrupted by SIG$sig; cleaned up" "SIG$sig: message"
  assert_volume_untouched "$target" "$old_tree" "SIG$sig"
}

# interrupt SIG: SIG once the extracting helper runs.
interrupt() {
  echo "--- SIG$1 during the extraction" >&2
  start_restore "$1"
  sleep 0.2
  kill -s "$1" "$df_pid"
  outcome "$1" after-swap-allowed
}
interrupt INT
interrupt TERM

# SIGINT while the helper flushes the staged data (strace holds it at its
# syncfs for 3 s): the flush is not cut short, but no swap may follow it.
interrupt_in_flush() {
  local deadline=$((SECONDS + 90)) pid
  echo "--- SIGINT during the flush" >&2
  need_strace
  start_restore INT
  kill -STOP "$df_pid"
  pid=$(engine inspect -f '{{.State.Pid}}' "$helper")
  hold_at_syscall "$pid" syncfs 1 3000000
  kill -CONT "$df_pid"
  until grep -q 'syncfs(' "$TEST_TMP/strace.log"; do
    kill -0 "$df_pid" 2>/dev/null || fail "the restore ended before its helper flushed: $(<"$TEST_TMP/sig.err")"
    ((SECONDS < deadline)) || fail "the helper did not flush within 90 s"
    sleep 0.02
  done
  kill -INT "$df_pid"
  outcome INT
  release_hold TERM
}
interrupt_in_flush

# Nothing left in the way: the next restore works.
run_df -c "$M" volume restore "$target" "$snap" --force
assert_eq 0 "$RC" "restore after the interrupted runs"
assert_eq "$new_tree" "$(tree_listing "$target")" "the volume holds the snapshot after the next restore"
assert_no_leftovers "$target" "after the next restore"

pass
