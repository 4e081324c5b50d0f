#!/usr/bin/env bash
# stages: sanitize
# volume restore interrupted by SIGINT and by SIGTERM while it extracts
# (~150 MB): dockform exits 1 with "interrupted by SIG...; cleaned up", reports
# no failed cleanup, and leaves the volume with its old content (or, had the
# signal come after the swap, exactly the snapshot's), with no .dockform-*
# entry, no helper container and no lock container. The next restore works.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

big=${PFX}big
target=${PFX}target
manifest_and_volumes restoresignals "$big" "$target"
fault_trap "dockform-lock-$target"

# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$big" sh -euc '
  cd /v
  i=0
  while [ $i -lt 30 ]; do dd if=/dev/urandom of=blob$i bs=1M count=5 2>/dev/null; i=$((i+1)); done
  echo new > new.txt
'
new_tree=$(tree_listing "$big")
run_df -c "$M" volume snapshot "$big" -o "$TEST_TMP/snaps" --level 1 --json
assert_eq 0 "$RC" "snapshot of $big"
snap=$(json_field data_file)

vol_exec "$target" sh -euc '
  cd /v
  echo old > old.txt
  mkdir -p keep/sub && echo deep > keep/sub/f
'
old_tree=$(tree_listing "$target")

# interrupt SIG: starts a restore --force of $snap into $target, sends SIG once
# the extracting helper runs, and checks the outcome.
interrupt() {
  local sig=$1 rc=0 err deadline=$((SECONDS + 90))
  echo "--- SIG$sig during the extraction" >&2
  "$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/sig.out" 2>"$TEST_TMP/sig.err" </dev/null &
  df_pid=$!
  until extracting_helper "$target"; do
    kill -0 "$df_pid" 2>/dev/null || { cat "$TEST_TMP/sig.err" >&2; fail "SIG$sig: the restore ended before its extracting helper was seen"; }
    ((SECONDS < deadline)) || fail "SIG$sig: no extracting helper appeared within 90 s"
    sleep 0.05
  done
  sleep 0.2
  kill -s "$sig" "$df_pid"
  deadline=$((SECONDS + 30))
  while kill -0 "$df_pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "SIG$sig: dockform still runs 30 s after the signal"
    sleep 0.1
  done
  wait "$df_pid" || rc=$?
  df_pid=
  err=$(<"$TEST_TMP/sig.err")
  echo "exit $rc; stderr:"$'\n'"$err" >&2
  assert_not_contains "$err" "could not" "SIG$sig: a cleanup was reported as failed"
  if ((rc == 0)); then
    # The signal came after the swap: the restore is complete.
    assert_eq "$new_tree" "$(tree_listing "$target")" "SIG$sig: after a finished restore the volume holds the snapshot"
    assert_no_leftovers "$target" "SIG$sig"
    return 0
  fi
  assert_eq 1 "$rc" "SIG$sig: exit code"
  assert_contains "$err" "interrupted by SIG$sig; cleaned up" "SIG$sig: message"
  assert_volume_untouched "$target" "$old_tree" "SIG$sig"
}
interrupt INT
interrupt TERM

# Nothing left in the way: the next restore works.
run_df -c "$M" volume restore "$target" "$snap" --force
assert_eq 0 "$RC" "restore after the interrupted runs"
assert_eq "$new_tree" "$(tree_listing "$target")" "the volume holds the snapshot after the next restore"
assert_no_leftovers "$target" "after the next restore"

pass
