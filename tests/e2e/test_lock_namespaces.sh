#!/usr/bin/env bash
# slow
# dockform in a container (the engine's socket mounted) and dockform on the
# host share a kernel but not a PID namespace: neither finds the other's pid in
# its own /proc, and that must not make it take the other for dead. Here one
# side runs under `unshare --pid --fork --mount-proc` ("dockform pid 1"), the
# other on the host, on one engine; the run to be kept busy is frozen (SIGSTOP,
# a few seconds, well inside its 60 s lease) at the point where the other side
# would do harm:
#  1. a namespaced restore holding the volume's lock (its helper extracting): a
#     host restore of the same volume exits 3 naming "dockform pid 1" and does
#     not take the lock over; a host snapshot of another volume leaves the
#     restore's helper alone. Resumed, the namespaced restore completes with
#     exactly the snapshot and leaves nothing behind;
#  2. a host snapshot streaming (its helper running): a namespaced snapshot of
#     another volume does not remove that helper; both succeed with exact data;
#  3. a namespaced snapshot streaming (helper running, temporary file in the
#     folder): a host snapshot of another volume does not remove its helper,
#     and a host snapshot of the same volume into the same folder does not
#     delete its temporary file; all succeed with exact data.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd
unshare --pid --fork --mount-proc true 2>/dev/null || fail "unshare --pid --fork --mount-proc is not allowed here (run as root)"

other=${PFX}other
src_and_dst nstest "$other"
# ~120 MB of incompressible data each: a snapshot or restore takes a second or more.
fill_random "$src" 12 10
vol_exec "$src" sh -c 'mkdir /v/d && echo src > /v/d/name' || fail "filling $src"
engine run --rm --network none --log-driver none -v "$src:/s:ro" -v "$other:/o" "$DOCKFORM_TEST_BUSYBOX_IMAGE" \
  sh -c 'cp -a /s/. /o/ && echo other > /o/d/name' || fail "filling $other"

# Every frozen run is resumed and killed at exit, whatever failed.
FROZEN=()
_ns_test_exit() {
  local rc=$? pid
  set +e
  for pid in "${FROZEN[@]}"; do kill -CONT "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  engine rm -f "dockform-lock-$dst" >/dev/null 2>&1
  (exit "$rc")
  _on_exit
}
trap _ns_test_exit EXIT

# start_df NAME ns|host ARGS...: dockform ARGS in the background, in a PID
# namespace of its own or on the host; RUN_PID is its pid on the host.
start_df() {
  local name=$1 where=$2 i
  shift 2
  if [[ $where == ns ]]; then
    unshare --pid --fork --mount-proc --kill-child "$DOCKFORM" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" </dev/null &
    local outer=$!
    RUN_PID=
    for ((i = 0; i < 500; i++)); do
      RUN_PID=$(pgrep -P "$outer" || true)
      [[ -z $RUN_PID ]] || break
      sleep 0.01
    done
    [[ -n $RUN_PID ]] || fail "$name: no dockform process under unshare"
    WAIT_PID=$outer
  else
    "$DOCKFORM" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" </dev/null &
    RUN_PID=$! WAIT_PID=$!
  fi
}

# freeze_when NAME CONDITION...: stops RUN_PID (SIGSTOP) as soon as CONDITION
# holds; fails when the run ends first or 60 s pass.
freeze_when() {
  local name=$1 rc=0 deadline=$((SECONDS + 60))
  shift
  until "$@"; do
    if ! kill -0 "$RUN_PID" 2>/dev/null || ((SECONDS > deadline)); then
      wait "$WAIT_PID" || rc=$?
      fail "$name ended (exit $rc) or stalled before it could be frozen: $(cat "$TEST_TMP/$name.err")"
    fi
    sleep 0.02
  done
  kill -STOP "$RUN_PID"
  FROZEN+=("$RUN_PID")
}

# resume NAME PID WAIT_PID: continues the frozen run and expects exit 0.
resume() {
  local rc=0 i
  kill -CONT "$2"
  for i in "${!FROZEN[@]}"; do [[ ${FROZEN[$i]} != "$2" ]] || unset "FROZEN[$i]"; done
  wait "$3" || rc=$?
  [[ $rc == 0 ]] || fail "$1 failed after it was resumed (exit $rc): $(cat "$TEST_TMP/$1.err")"
}

helper_runs() { [[ -n $(helpers_of "$1") ]]; }
temp_in() { [[ -n $(find "$1" -maxdepth 1 -name '.dockform-tmp-*' -size +1M 2>/dev/null) ]]; }
streaming() { helper_runs "$1" && temp_in "$2"; }

# digests: "sha256 ./path" of every regular file, sorted, from a volume or a
# snapshot file, so that a snapshot can be compared with its volume exactly.
volume_digests() { vol_exec "$1" sh -c 'cd /v && find . -type f | sort | xargs sha256sum'; }
snapshot_digests() {
  zstd -dc "$1" | python3 -c '
import hashlib, sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as t:
    rows = []
    for m in t:
        if m.isfile():
            rows.append((m.name if m.name.startswith("./") else "./" + m.name, hashlib.sha256(t.extractfile(m).read()).hexdigest()))
for name, digest in sorted(rows):
    print(digest + "  " + name)'
}
# exact_snapshot WHAT DIR VOLUME: DIR/VOLUME holds exactly one snapshot, no
# temporary, and its files are exactly VOLUME's.
exact_snapshot() {
  local files
  files=("$2/$3"/*.tar.zst)
  assert_eq 1 "${#files[@]}" "$1: one snapshot in $2/$3"
  assert_eq "$(volume_digests "$3")" "$(snapshot_digests "${files[0]}")" "$1: the snapshot holds exactly the volume"
  assert_eq "" "$(find "$2/$3" -name '.dockform-tmp-*')" "$1: temporary files left"
}

run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/base" --json
assert_eq 0 "$RC" "snapshot of $src"
snap=$(json_field data_file)
want=$(tree_listing "$src")

# ------------------------------------------------------------------ 1. namespaced restore
start_df ns_restore ns -c "$M" volume restore "$dst" "$snap" --force
r_pid=$RUN_PID r_wait=$WAIT_PID
freeze_when ns_restore helper_runs "$dst"
r_helper=$(helpers_of "$dst")
run_df -c "$M" volume restore "$dst" "$snap" --force
assert_eq 3 "$RC" "1: a host restore while the namespaced one holds the lock"
assert_contains "$ERR" "being restored by another dockform run (held by dockform pid 1 on host $(hostname)" \
  "1: the refusal names the namespaced holder"
assert_not_contains "$ERR" "taking over" "1: the host run took the live lock over"
run_df -c "$M" volume snapshot "$other" -o "$TEST_TMP/s1" --level 1
assert_eq 0 "$RC" "1: a host snapshot of another volume meanwhile"
assert_eq "$r_helper" "$(helpers_of "$dst")" "1: the namespaced restore's helper was removed"
exact_snapshot 1 "$TEST_TMP/s1" "$other"
resume ns_restore "$r_pid" "$r_wait"
assert_eq "$want" "$(tree_listing "$dst")" "1: the namespaced restore's result"
assert_no_leftovers "$dst" "1: after the namespaced restore"

# ------------------------------------------------------------------ 2. host snapshot, namespaced one
start_df host_snap host -c "$M" volume snapshot "$other" -o "$TEST_TMP/s2" --level 1
h_pid=$RUN_PID h_wait=$WAIT_PID
freeze_when host_snap streaming "$other" "$TEST_TMP/s2/$other"
h_helper=$(helpers_of "$other")
start_df ns_snap ns -c "$M" volume snapshot "$src" -o "$TEST_TMP/s2" --level 1
resume ns_snap "$RUN_PID" "$WAIT_PID"
assert_not_contains "$(<"$TEST_TMP/ns_snap.err")" "removing helper" "2: the namespaced snapshot removed a helper"
assert_eq "$h_helper" "$(helpers_of "$other")" "2: the host snapshot's helper is still there"
resume host_snap "$h_pid" "$h_wait"
exact_snapshot "2: namespaced" "$TEST_TMP/s2" "$src"
exact_snapshot "2: host" "$TEST_TMP/s2" "$other"

# ------------------------------------------------------------------ 3. namespaced snapshot, host ones
start_df ns_snap3 ns -c "$M" volume snapshot "$src" -o "$TEST_TMP/s3" --level 1
n_pid=$RUN_PID n_wait=$WAIT_PID
freeze_when ns_snap3 streaming "$src" "$TEST_TMP/s3/$src"
n_helper=$(helpers_of "$src")
n_temp=$(find "$TEST_TMP/s3/$src" -maxdepth 1 -name '.dockform-tmp-*')
run_df -c "$M" volume snapshot "$other" -o "$TEST_TMP/s3" --level 1
assert_eq 0 "$RC" "3: a host snapshot of another volume"
assert_not_contains "$ERR" "removing helper" "3: the host snapshot removed a helper"
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/s3" --level 1
assert_eq 0 "$RC" "3: a host snapshot of the same volume into the same folder"
assert_not_contains "$ERR" "left by an interrupted run" "3: the host snapshot removed a temporary file"
[[ -f $n_temp ]] || fail "3: the namespaced snapshot's temporary file $n_temp was deleted"
assert_eq "$n_helper" "$(helpers_of "$src")" "3: the namespaced snapshot's helper is still there"
exact_snapshot 3 "$TEST_TMP/s3" "$other"
resume ns_snap3 "$n_pid" "$n_wait"
files=("$TEST_TMP/s3/$src"/*.tar.zst)
assert_eq 2 "${#files[@]}" "3: the host's and the namespaced snapshot of $src"
for f in "${files[@]}"; do
  assert_eq "$(volume_digests "$src")" "$(snapshot_digests "$f")" "3: $f holds exactly the volume"
done
assert_eq "" "$(find "$TEST_TMP/s3/$src" -name '.dockform-tmp-*')" "3: temporary files left"

pass
