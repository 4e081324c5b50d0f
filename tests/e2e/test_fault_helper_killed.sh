#!/usr/bin/env bash
# stages: podman
# transports: attach
# The helper container killed (`docker kill`) while data flows:
#  - during a snapshot of ~250 MB (its temporary file past 50 MB): dockform
#    exits non-zero with an error naming the helper, no final-named file, no
#    temporary file, no helper container left;
#  - during a restore --force of that snapshot (the staging folder past 50 MB):
#    non-zero, an error naming the helper, the volume's content unchanged, no
#    staging folder, no helper container, no lock container left.
# Afterwards both operations work again on the same volumes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

big_and_target faulthelper

# helpers_of -a VOLUME: dockform's own helpers (the test's watcher has no io.dockform.volume label).
fill_random "$big" 25 10
vol_exec "$big" sh -c 'echo small > /v/small.txt' || fail "filling $big"
fill_known "$target"
keep_untouched "$target"

# failed_after_kill WHAT ERR-FILE: the run $df_pid (WHAT: snapshot or restore)
# ends within 15 s of the kill of its helper ($killed, empty when it ended
# before), non-zero, with an error naming the helper; its stderr in $err.
failed_after_kill() {
  wait_exit "$df_pid" 15 "after its helper was killed"
  df_pid=
  err=$(cat "$2")
  echo "--- $1 with its helper killed ($killed): exit $rc; stderr:"$'\n'"$err"
  [[ -n $killed ]] || fail "the $1 ended (exit $rc) before its helper could be killed"
  ((rc != 0)) || fail "the $1 whose helper was killed exited 0"
  assert_contains "$err" "helper" "the error names the helper"
}

# ------------------------------------------------------------------ snapshot
sdir=$TEST_TMP/snapkill
"$DOCKFORM" -c "$M" volume snapshot "$big" -o "$sdir" --level 1 >"$TEST_TMP/s.out" 2>"$TEST_TMP/s.err" </dev/null &
df_pid=$!
killed=
if wait_until "$df_pid" temp_file_over "$sdir" "$big" 50; then
  helper=$(helpers_of -a "$big")
  [[ -n $helper ]] || fail "no helper container for $big while the snapshot writes"
  engine kill "$helper" >/dev/null
  killed=$helper
fi
failed_after_kill snapshot "$TEST_TMP/s.err"
assert_contains "$err" "error" "an error is printed"
assert_eq "" "$(files_under "$sdir")" "files left after the snapshot's helper was killed"
assert_eq "" "$(helpers_of -a "$big")" "helper containers left after the snapshot's helper was killed"

snapshot_of "$big" --level 1

# ------------------------------------------------------------------ restore
# The staging folder is watched from a container labelled io.dockform.helper
# (no owner label): dockform neither counts it as a user of the volume nor
# removes it.
exec {wfd}< <(engine run --rm --name "${PFX}watch" --label io.dockform.helper=test-watcher \
  --network none --log-driver none -v "$target:/v:ro" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c '
    echo ready
    while :; do
      for d in /v/.dockform-restore-*; do [ -d "$d" ] && echo "mb=$(du -sm "$d" | cut -f1)"; done
      usleep 20000
    done' 2>/dev/null)
read -r -t 30 -u "$wfd" line || fail "the watcher did not start"
"$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/r.out" 2>"$TEST_TMP/r.err" </dev/null &
df_pid=$!
killed=
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  if read -r -t 1 -u "$wfd" line; then
    [[ $line =~ ^mb=([0-9]+)$ ]] || continue
    if ((BASH_REMATCH[1] > 50)); then
      helper=$(helpers_of -a "$target")
      [[ -n $helper ]] || fail "no helper container for $target while the restore extracts"
      engine kill "$helper" >/dev/null
      killed="$helper at $line"
      break
    fi
  elif ! kill -0 "$df_pid" 2>/dev/null; then
    break
  fi
done
engine rm -f "${PFX}watch" >/dev/null 2>&1 || true
exec {wfd}<&-
failed_after_kill restore "$TEST_TMP/r.err"
check_untouched "after the restore whose helper was killed"

# The restore works afterwards and gives exactly the snapshot's tree.
run_df -c "$M" volume restore "$target" "$snap" --force
assert_eq 0 "$RC" "restore after the one whose helper was killed"
assert_eq "$(tree_listing "$big")" "$(tree_listing "$target")" "tree after the final restore"

pass
