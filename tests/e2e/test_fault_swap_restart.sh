#!/usr/bin/env bash
# stages: sanitize
# slow
# A restore --force --stop-containers whose swap fails half-way: the users it
# stopped start again only once the swap is finished or rolled back, never on
# a half-swapped volume root.
# The user notes the names in the volume, `find . | sort`, each time it
# starts (a host folder), and notes the SIGTERM of dockform's stop. That note
# freezes dockform (SIGSTOP) before its go; strace then holds the restore's
# helper in the swap: its fourth rename is delayed (the journal's and two
# old entries moved aside came before). With the helper frozen there:
#  1. the helper killed (`docker kill`);
#  2. the ssh transport cut (every ssh process of the run killed; the helper
#     goes on and ends by itself when strace lets it go);
#  3. the ssh transport cut and the helper left frozen (as on a hung NFS
#     mount), then SIGINT: the restore ends its wait for the helper within
#     20 s (it kills the helper), then settles the swap and ends.
# Each time: the restore exits non-zero; the user's start saw exactly the old
# or exactly the new names (no .dockform-* entry either); the user runs
# again; the volume holds exactly the snapshot; no record, lock or helper
# left.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote.sh"

need_strace

src_and_target swaprestart

# $app: at each start, the names in the volume into $sig/start.N; each SIGTERM
# noted in $TERMS (in $sig), then 1 s to exit.
sig=${TERMS%/*}
# shellcheck disable=SC2016 # expanded by the container's shell
run_noting_user "$app" "$target" 1 '
    n=$(ls /sig | grep -c "^start\.")
    (cd /data && find . | sort) >/sig/tmp && mv /sig/tmp "/sig/start.$n"'
wait_start() { # N: waits for $sig/start.N
  local deadline=$((SECONDS + 60))
  until [[ -f $sig/start.$1 ]]; do
    ((SECONDS < deadline)) || fail "$app did not note its start number $1 within 60 s"
    sleep 0.1
  done
}
wait_start 0

names_of() { vol_exec "$1" sh -c 'cd /v && find . | sort'; }
# content_of VOLUME: its names and one digest of every file's content, in name order.
content_of() { vol_exec "$1" sh -c 'cd /v && find . | sort && find . -type f | sort | xargs cat | sha256sum'; }
fill_old() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  vol_exec "$target" sh -euc 'cd /v; rm -rf ./* ./.[!.]* 2>/dev/null || true
    i=0; while [ $i -lt 200 ]; do echo "old $i" > "o$i"; i=$((i+1)); done'
}
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$src" sh -euc 'cd /v; i=0; while [ $i -lt 200 ]; do echo "new $i" > "n$i"; i=$((i+1)); done'
want=$(content_of "$src")
new_names=$(names_of "$src")
snapshot_of "$src"
fill_old
old_names=$(names_of "$target")
mountpoint=$(engine volume inspect -f '{{.Mountpoint}}' "$target")
[[ -d $mountpoint ]] || fail "the volume's folder $mountpoint is not on this host"

# Frozen in the swap: the journal is there and two entries were moved aside.
frozen_in_swap() {
  [[ $(find "$mountpoint"/.dockform-old-* -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) == 2 ]] &&
    [[ -n $(find "$mountpoint" -maxdepth 1 -name '.dockform-swap-*' -print -quit) ]]
}
# restore_frozen_in_swap TRANSPORT: starts the restore over TRANSPORT in the
# background ($df_pid) and returns once its helper is frozen in the swap
# (journal written, two old entries moved aside); $helper is that helper.
restore_frozen_in_swap() {
  local -a vars
  mapfile -t vars < <(transport_env "$1")
  # The delay outlasts the test's waits; test 2 ends it by releasing strace.
  restore_held_at_rename "$TERMS" 4 frozen_in_swap \
    env "${vars[@]}" "$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force --stop-containers
  echo "--- helper ${helper:0:12} frozen in the swap: $(ls -a "$mountpoint" | grep -c '^o') old entries at the root"
}

# A process held by strace dies of a SIGKILL only once strace lets it go:
# the kill is sent first, then strace ends (the held rename is not run).
release_killed_helper() {
  release_hold
}

# check_outcome WHAT N: the restore ($df_pid) exits non-zero within 90 s; the
# user's start N saw exactly the old or the new names; it runs again; the
# volume holds exactly the snapshot; nothing left.
check_outcome() {
  local what=$1 n=$2 rc=0 started
  wait "$df_pid" || rc=$?
  df_pid=
  echo "--- restore ($what) exit $rc; its stderr:"
  cat "$TEST_TMP/run.err"
  [[ $rc != 0 ]] || fail "$what: the restore exited 0"
  wait_running "$app"
  wait_start "$n"
  started=$(<"$sig/start.$n")
  if [[ $started != "$new_names" && $started != "$old_names" ]]; then
    echo "--- names $app saw at its start (first 20 of $(wc -l <<<"$started")):"
    head -20 <<<"$started"
    fail "$what: $app started on a half-swapped volume ($(grep -c '^\./o' <<<"$started") old, $(grep -c '^\./n' <<<"$started") new entries, $(grep -c '^\./\.dockform-' <<<"$started") .dockform-* entries)"
  fi
  [[ $started == "$new_names" ]] && echo "--- $app started on the new content" || echo "--- $app started on the old content"
  [[ $(content_of "$target") == "$want" ]] || fail "$what: the volume does not hold exactly the snapshot"
  assert_no_leftovers "$target" "$what"
  if engine inspect "dockform-stopped-$target" >/dev/null 2>&1; then fail "$what: the stopped-containers record is left"; fi
  assert_no_ssh_left
}

# ------------------------------------------------------------------ 1. the helper killed in the swap
restore_frozen_in_swap unix
kill_held_helper
check_outcome "helper killed in the swap" 1

# ------------------------------------------------------------------ 2. the ssh transport cut in the swap
fill_old
restore_frozen_in_swap ssh
for pid in $(ssh_left); do kill -KILL "$pid" 2>/dev/null || true; done
# The helper stays frozen a moment longer, then goes on by itself.
sleep 2
release_hold TERM
check_outcome "ssh transport cut in the swap" 2

# ------------------------------------------------------------------ 3. Ctrl-C while dockform waits for the frozen helper
# The transport cut as in 2, the helper left frozen (as on a hung NFS
# mount): dockform waits for its end, and SIGINT must end that wait.
fill_old
restore_frozen_in_swap ssh
for pid in $(ssh_left); do kill -KILL "$pid" 2>/dev/null || true; done
sleep 2
# dockform, interrupted, kills its helper (an engine's "kill" event): only
# then does the test let strace go, as the kill of a process held there
# completes only then.
since=$(date +%s)
engine events --since "$since" --filter "container=$helper" --filter event=kill --format kill >"$TEST_TMP/kills" &
_BACKGROUND_PIDS+=("$!")
kill -INT "$df_pid"
deadline=$((SECONDS + 20))
until [[ -s $TEST_TMP/kills ]]; do
  ((SECONDS < deadline)) || fail "the restore did not end its wait for the frozen helper within 20 s of SIGINT: $(<"$TEST_TMP/run.err")"
  sleep 0.1
done
release_killed_helper
# Then it finishes the swap with a helper of its own and starts the user.
deadline=$((SECONDS + 60))
while kill -0 "$df_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the restore still runs 60 s after it killed its helper: $(<"$TEST_TMP/run.err")"
  sleep 0.1
done
check_outcome "SIGINT while the helper is frozen" 3
assert_contains "$(<"$TEST_TMP/run.err")" "interrupted by SIGINT" "the restore reports the interruption"
pass
