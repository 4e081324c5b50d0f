#!/usr/bin/env bash
# slow
# volume restore --path --stop-containers killed in its partial swap (the
# helper held by strace at one rename): the helper alone killed in phase 1,
# then dockform and the helper SIGKILLed in phase 2. Each time the volume is
# recovered to the new subtrees entirely (by the run itself, then by the
# next snapshot), every other file keeps its content, inode and mtime, and
# the user runs again (test_restore_path.sh has the rest of --path).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

command -v strace >/dev/null || fail "strace is not installed (scripts/install-deps installs it)"
strace -o /dev/null true 2>/dev/null || fail "strace cannot trace here (ptrace not allowed)"

src=${PFX}src
target=${PFX}target
app=${PFX}app
manifest_and_volumes restorepath "$src" "$target"
fault_trap "dockform-lock-$target" "dockform-stopped-$target"
strace_pid=
on_fault_exit() { [[ -z $strace_pid ]] || kill -9 "$strace_pid" 2>/dev/null || true; }

# The snapshot: data/db/gone and data/db/sub are deleted from the live
# volume since, deep/ is missing there entirely.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$src" sh -euc '
  cd /v
  mkdir -p keep data/db/sub etc deep/a
  echo snap-a > data/db/a; echo snap-b > data/db/sub/b; echo deleted-since > data/db/gone
  echo conf-snap > etc/app.conf; echo other-snap > etc/other.conf; echo keep-snap > keep/k
  echo leaf > deep/a/leaf
  chown 1234:5678 deep; chmod 750 deep; touch -d "2001-02-03 04:05:06" deep data/db'
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/snaps" --json
assert_eq 0 "$RC" "snapshot of $src"
snap=$(json_field data_file)
PATHS=(--path data/db --path /etc/app.conf --path ./deep/a/)

fill_live() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  vol_exec "$target" sh -euc '
    cd /v; rm -rf ./* ./.[!.]* 2>/dev/null || true
    mkdir -p keep data/db etc
    echo live-a > data/db/a; echo added-since > data/db/added
    echo conf-live > etc/app.conf; echo other-live > etc/other.conf; echo keep-live > keep/k; echo top > top.txt
    touch -d "2010-01-01 00:00:00" keep/k etc/other.conf top.txt'
}
# The replaced subtrees and the rest, as tree_listing (fixtures.sh) shows them.
replaced() { tree_listing "$1" | grep -e '^.|\./data/db[|/]' -e '^.|\./etc/app\.conf|' -e '^.|\./deep[|/]'; }
rest() { tree_listing "$1" | grep -v -e '^count=' -e '^.|\./data/db[|/]' -e '^.|\./etc/app\.conf|' -e '^.|\./deep[|/]'; }
stamps() { vol_exec "$target" stat -c '%n %i %y %s' /v/keep/k /v/etc/other.conf /v/top.txt /v/keep /v/etc; }
want=$(replaced "$src")
# check_restored WHAT: the paths are the snapshot's, everything else as before.
check_restored() {
  [[ $(replaced "$target") == "$want" ]] || {
    diff <(echo "$want") <(replaced "$target") >&2 || true
    fail "$1: the replaced subtrees are not the snapshot's (diff above)"
  }
  [[ $(rest "$target") == "$rest_before" ]] || {
    diff <(echo "$rest_before") <(rest "$target") >&2 || true
    fail "$1: entries outside the paths changed (diff above)"
  }
  # Inodes and nanosecond mtimes of the untouched files, and of the folders
  # that hold no replaced path.
  assert_eq "$(grep -v '^/v/etc ' <<<"$stamps_before")" "$(stamps | grep -v '^/v/etc ')" "$1: untouched inodes or mtimes"
  assert_eq "1234:5678 750 2001-02-03 04:05:06.000000000" \
    "$(vol_exec "$target" stat -c '%u:%g %a %y' /v/deep | cut -d' ' -f1-4)" "$1: the missing parent deep/ from the snapshot"
  assert_eq "2001-02-03 04:05:06.000000000" "$(vol_exec "$target" stat -c '%y' /v/data/db | cut -d' ' -f1-2)" "$1: data/db's mtime"
  assert_no_leftovers "$target" "$1"
}
# $app notes each start and each SIGTERM in a host folder (the kill tests below wait for it).
sig=$TEST_TMP/sig
mkdir -p "$sig"
: >"$sig/terms"
# shellcheck disable=SC2016 # expanded by the container's shell
engine run -d --name "$app" --network none --log-driver none -v "$target:/data" -v "$sig:/sig" \
  "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c '
    trap "echo term >>/sig/terms; sleep 1; exit 0" TERM
    sleep 3600 & wait' >/dev/null
wait_running "$app"
# --- kills in the swap ------------------------------------------------------
mountpoint=$(engine volume inspect -f '{{.Mountpoint}}' "$target")
[[ -d $mountpoint ]] || fail "the volume's folder $mountpoint is not on this host"
# restore_frozen_at N CONDITION: starts the restore (--stop-containers, in the
# background: $df_pid) and returns once its helper is held by strace at its
# Nth rename after the users were stopped, with the function CONDITION true.
# The partial swap's renames: 1 the journal at phase 1, 2 data/db aside,
# 3 etc/app.conf aside, 4 the journal at phase 2, 5 data/db in, 6 deep in.
restore_frozen_at() {
  local deadline=$((SECONDS + 90)) terms pid id
  terms=$(wc -l <"$sig/terms")
  "$DOCKFORM" -c "$M" volume restore "$target" "$snap" "${PATHS[@]}" --stop-containers \
    >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" </dev/null &
  df_pid=$!
  until (($(wc -l <"$sig/terms") > terms)); do
    kill -0 "$df_pid" 2>/dev/null || fail "the restore ended before it stopped $app: $(<"$TEST_TMP/run.err")"
    ((SECONDS < deadline)) || fail "the restore did not stop $app within 90 s"
    sleep 0.02
  done
  kill -STOP "$df_pid"
  helper=
  for id in $(helpers_of "$target"); do
    [[ $(engine inspect -f '{{json .Config.Cmd}}' "$id") == *'"restore"'* ]] && helper=$id
  done
  [[ -n $helper ]] || fail "no restore helper runs on $target"
  pid=$(engine inspect -f '{{.State.Pid}}' "$helper")
  strace -o "$TEST_TMP/strace.log" -p "$pid" -e trace=renameat,renameat2 \
    -e inject=renameat,renameat2:delay_enter=300000000:when="$1" 2>"$TEST_TMP/strace.err" &
  strace_pid=$!
  until grep -q attached "$TEST_TMP/strace.err"; do
    kill -0 "$strace_pid" 2>/dev/null || fail "strace could not attach to the helper: $(<"$TEST_TMP/strace.err")"
    sleep 0.02
  done
  kill -CONT "$df_pid"
  until "$2"; do
    kill -0 "$df_pid" 2>/dev/null || fail "the restore ended before its helper was held: $(<"$TEST_TMP/run.err")"
    ((SECONDS < deadline)) || fail "the helper was not held at rename $1 within 90 s"
    sleep 0.02
  done
  echo "--- helper ${helper:0:12} held at rename $1: $(head -1 "$mountpoint"/.dockform-swap-* 2>/dev/null)"
}
# A process held by strace dies of a SIGKILL only once strace lets it go.
kill_held_helper() {
  local killer
  engine kill "$helper" >/dev/null 2>&1 &
  killer=$!
  sleep 1
  kill -KILL "$strace_pid" 2>/dev/null || true
  wait "$strace_pid" 2>/dev/null || true
  strace_pid=
  wait "$killer" || true
}

echo "=== the helper killed in phase 1 (data/db moved aside): the run finishes the swap"
fill_live
rest_before=$(rest "$target")
stamps_before=$(stamps)
phase1_held() { compgen -G "$mountpoint/.dockform-old-*/data/db" >/dev/null; }
restore_frozen_at 3 phase1_held
kill_held_helper
rc=0
wait "$df_pid" || rc=$?
df_pid=
[[ $rc != 0 ]] || fail "the restore exited 0 after its helper was killed"
assert_contains "$(<"$TEST_TMP/run.err")" "the swap was finished" "the run says it finished the swap"
wait_running "$app"
check_restored "helper killed in phase 1"

echo "=== dockform and the helper killed in phase 2 (data/db in, deep/ not): the next run finishes it"
fill_live
rest_before=$(rest "$target")
stamps_before=$(stamps)
phase2_held() { [[ -d $mountpoint/data/db/sub && ! -e $mountpoint/deep ]]; }
restore_frozen_at 6 phase2_held
kill -KILL "$df_pid"
wait "$df_pid" 2>/dev/null || true
df_pid=
kill_held_helper
# A snapshot of the volume finishes the swap first (it never archives a half-swapped volume).
run_df -c "$M" volume snapshot "$target" -o "$TEST_TMP/after"
assert_eq 0 "$RC" "snapshot after the kill: $ERR"
assert_contains "$ERR" "finished the swap of an interrupted restore" "the snapshot says it finished the swap"
assert_contains "$ERR" "3 paths" "the journal named the 3 paths"
check_restored "dockform killed in phase 2, then a snapshot"
# The next restore starts the user that the killed run stopped. (Not of
# deep/a: deep/ is there now, and its mtime would be the swap's.)
run_df -c "$M" volume restore "$target" "$snap" --path data/db --path etc/app.conf --stop-containers
assert_eq 0 "$RC" "restore after the kill: $ERR"
wait_running "$app"
check_restored "the restore after the kill"
pass
