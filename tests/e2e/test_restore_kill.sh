#!/usr/bin/env bash
# volume restore killed with SIGKILL while it extracts (~240 MB): the live
# content is still entirely the old one (or entirely the new one), never a mix.
# The next restore cleans up what the killed run left (staging folder, helper
# container, lock), says so, and leaves exactly the snapshot's tree with no
# .dockform-* entries, no helper and no lock container.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The lock container is named after the volume, not with $PFX: big_and_target
# removes it (and the killed run's helpers) whatever happens.
big_and_target restoretest

# ~240 MB of incompressible data in 60 files, and a few small ones.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$big" sh -euc '
  cd /v
  mkdir -p data
  i=0
  while [ $i -lt 60 ]; do dd if=/dev/urandom of=data/blob$i bs=1M count=4 2>/dev/null; i=$((i+1)); done
  echo new > new.txt
  echo newdot > .newdot
  chmod 700 /v
'
new_full=$(tree_listing "$big")
new_live=$(live_listing "$big")
snapshot_of "$big" --level 1

vol_exec "$target" sh -euc '
  cd /v
  echo old > old.txt
  echo olddot > .olddot
  mkdir -p keep/sub && echo deep > keep/sub/f
  chmod 755 /v
'
old_live=$(live_listing "$target")

# Start the restore, wait for its extracting helper, let it write a little, kill -9.
"$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/killed.out" 2>"$TEST_TMP/killed.err" </dev/null &
df_pid=$!
kill_while_extracting "$df_pid" "$target" "$TEST_TMP/killed.err" 90
df_pid=
echo "--- stderr of the killed run:"
cat "$TEST_TMP/killed.err"

# The killed run left its staging folder; the live content is old or new, never a mix.
names=$(vol_exec "$target" ls -a /v)
echo "--- volume root after the kill:"
echo "$names"
assert_contains "$names" ".dockform-restore-" "the kill happened while extracting into staging"
live=$(live_listing "$target")
if [[ $live == "$old_live" ]]; then
  echo "after the kill: the live content is the old one"
elif [[ $live == "$new_live" ]]; then
  echo "after the kill: the live content is the new one"
else
  diff <(echo "$old_live") <(echo "$live") >&2 || true
  fail "after the kill the live content is neither the old nor the new tree (diff against the old above)"
fi

# The next restore recovers and succeeds.
run_df -c "$M" volume restore "$target" "$snap" --force --json
assert_eq 0 "$RC" "restore after the killed one"
echo "--- stderr of the recovering run:"
echo "$ERR"
assert_contains "$ERR" "interrupted restore" "the rerun says it cleaned up after the interrupted restore"
recovered=$(json_field --json recovered)
[[ $recovered != "[]" ]] || fail "--json recovered is empty after an interrupted restore"
assert_contains "$recovered" ".dockform-" "--json recovered names what was cleaned up"
assert_tree_is "$target" "$new_full" "tree after the recovering restore differs from the snapshot's source"
names=$(vol_exec "$target" ls -a /v)
assert_not_contains "$names" ".dockform-" "no .dockform-* entries after the recovering restore"
helpers=$(helpers_of -a "$target")
assert_eq "" "$helpers" "helper containers left for $target"
engine inspect "dockform-lock-$target" >/dev/null 2>&1 && fail "lock container dockform-lock-$target left behind"

pass
