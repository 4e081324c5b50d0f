# shellcheck shell=bash
# Sourced by every tests/e2e/test_*.sh; it sources fixtures.sh (test data and
# the usual starts of a test) itself. ctest runs each test with
#   DOCKFORM=<path to build/dockform>  DOCKFORM_SOURCE_DIR=<repository>
# and scripts/test adds DOCKER_HOST (a private engine), DOCKFORM_TEST_ENGINE (docker
# or podman) and the test images.
#
# Gives each test:
#   TEST_NAME   the script's name          TEST_TMP  a temp folder, removed at exit
#   PFX         a unique prefix (t<pid>_) for volume, network and container names;
#               everything so named is removed at exit
#   OUT ERR RC  stdout, stderr and exit code of the last run_df
set -euo pipefail

TEST_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)

fail() {
  printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
  if [[ -n ${RC:-} ]]; then
    printf -- '--- last dockform run (exit %s)\n--- stdout:\n%s\n--- stderr:\n%s\n' \
      "$RC" "${OUT:-}" "${ERR:-}" >&2
  fi
  exit 1
}

[[ -n ${DOCKFORM:-} ]] || fail "DOCKFORM is not set (the path of the dockform binary; run through ctest or scripts/test)"
[[ -x $DOCKFORM ]] || fail "DOCKFORM=$DOCKFORM is not an executable file"
[[ -n ${DOCKER_HOST:-} ]] || fail "DOCKER_HOST is not set (scripts/test starts a private engine and sets it)"
# `engine ARGS...`: the client of the engine under test (docker, or podman when
# DOCKFORM_TEST_ENGINE=podman); tests use it, never `docker` directly.
# shellcheck source=../../scripts/lib/engine_cli.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/engine_cli.sh"
command -v "${DOCKFORM_TEST_ENGINE:-docker}" >/dev/null ||
  fail "the ${DOCKFORM_TEST_ENGINE:-docker} client is not installed (run scripts/install-deps)"

: "${DOCKFORM_TEST_BUSYBOX_IMAGE:=dockform-test/busybox:1}"
: "${DOCKFORM_TEST_GNUTAR_IMAGE:=dockform-test/gnutar:1}"
export DOCKFORM_TEST_BUSYBOX_IMAGE DOCKFORM_TEST_GNUTAR_IMAGE
# dockform's default: the built-in helper image, made in the engine from
# dockform-helper (no registry is reachable). Tests of --helper-image name one.
unset DOCKFORM_HELPER_IMAGE
unset DOCKER_CONTEXT

PFX="t$$_"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dftest.${TEST_NAME}.XXXXXX")
OUT="" ERR="" RC=""
_VOL_EXEC_N=0
# Each test's own files cache (the nightly fast path's, volume/files_cache.hpp).
export DOCKFORM_CACHE_DIR=$TEST_TMP/cache

# Removes every container, volume and network named $PFX*, and the helper
# containers (label io.dockform.helper) that use a volume named $PFX*.
_cleanup() {
  local id name mounts
  local -a ids=()
  while read -r id name; do
    [[ $name == "$PFX"* ]] && ids+=("$id")
  done < <(engine ps -a --format '{{.ID}} {{.Names}}' 2>/dev/null)
  while read -r id; do
    [[ -n $id ]] || continue
    mounts=$(engine inspect --format '{{range .Mounts}} {{.Name}}{{end}}' "$id" 2>/dev/null) || continue
    [[ $mounts == *" $PFX"* ]] && ids+=("$id")
  done < <(engine ps -aq --filter label=io.dockform.helper 2>/dev/null)
  ((${#ids[@]} == 0)) || remove_now "${ids[@]}" >/dev/null 2>&1
  while read -r name; do
    [[ $name == "$PFX"* ]] && engine volume rm -f "$name" >/dev/null 2>&1
  done < <(engine volume ls -q 2>/dev/null)
  while read -r name; do
    [[ $name == "$PFX"* ]] && engine network rm "$name" >/dev/null 2>&1
  done < <(engine network ls --format '{{.Name}}' 2>/dev/null)
  rm -rf "$TEST_TMP"
  return 0
}
# remove_now CONTAINER...: removes the containers, killing running ones at
# once. (`podman rm -f` first waits for each container's own stop timeout: a
# container made with --stop-timeout 120 that ignores SIGTERM took 120 s.)
remove_now() {
  if [[ ${DOCKFORM_TEST_ENGINE:-docker} == podman ]]; then
    engine rm -f --time 0 "$@"
  else
    engine rm -f "$@"
  fi
}

_BACKGROUND_PIDS=()
_on_exit() {
  local rc=$? # the test's exit status, kept whatever the cleanup does
  local pid
  for pid in "${_BACKGROUND_PIDS[@]}"; do kill_engine_client "$pid"; done
  _cleanup || true
  exit "$rc"
}
trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

assert_eq() { # expected actual message
  [[ $1 == "$2" ]] || fail "$3: expected [$1], got [$2]"
}
assert_contains() { # haystack needle message
  [[ $1 == *"$2"* ]] || fail "$3: [$2] not found in [$1]"
}
assert_not_contains() { # haystack needle message
  [[ $1 != *"$2"* ]] || fail "$3: [$2] found in [$1]"
}
assert_file_exists() { # path [message]
  [[ -f $1 ]] || fail "${2:-file missing}: $1"
}
assert_no_file() { # path [message]
  [[ ! -e $1 && ! -L $1 ]] || fail "${2:-unexpected file}: $1"
}

# need_tools TOOL...: fails the test naming the first TOOL (a name on PATH or
# a path) that is not there.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "$tool is needed on the host (run scripts/install-deps test)"
  done
}

# assert_same_lines WANT GOT WHAT: fails with WHAT and a diff (< WANT, > GOT)
# when GOT is not WANT.
assert_same_lines() {
  if [[ $2 != "$1" ]]; then
    diff <(echo "$1") <(echo "$2") >&2 || true
    fail "$3 (diff above: < expected, > actual)"
  fi
}

# Runs dockform with the given arguments; never aborts the test.
run_df() {
  local o=$TEST_TMP/.out e=$TEST_TMP/.err
  echo "+ dockform $*" >&2
  RC=0
  "$DOCKFORM" "$@" >"$o" 2>"$e" </dev/null || RC=$?
  OUT=$(<"$o")
  ERR=$(<"$e")
}

# write_manifest DIR IDENTIFIER [VOLUME...]: writes DIR/dockform.yml.
write_manifest() {
  local dir=$1 ident=$2 v
  shift 2
  mkdir -p "$dir"
  {
    printf 'docker:\n  identifier: %s\n' "$ident"
    if (($# == 0)); then
      printf 'volumes: {}\n'
    else
      printf 'volumes:\n'
      for v in "$@"; do printf '  %s: {}\n' "$v"; done
    fi
  } >"$dir/dockform.yml"
}

# manifest_and_volumes IDENT VOLUME...: sets M to a manifest folder in
# $TEST_TMP whose dockform.yml declares the VOLUMEs, and creates them in the
# engine (empty; lib.sh's cleanup removes them with the test's prefix).
manifest_and_volumes() {
  local ident=$1 v
  shift
  M=$TEST_TMP/manifest
  write_manifest "$M" "$ident" "$@"
  for v in "$@"; do engine volume create "$v" >/dev/null; done
}

# wait_until PID CMD...: runs CMD every 20 ms, for 60 s at most, while PID
# runs. Returns 0 as soon as CMD succeeds, 1 when PID ended (or the time ran
# out) before: the caller says what it missed.
wait_until() {
  local pid=$1 i
  shift
  for ((i = 0; i < 3000; i++)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}

# signal_when PID SIGNAL CMD...: wait_until PID CMD, then sends SIGNAL to PID;
# returns 1 (nothing sent) when wait_until does.
signal_when() {
  local pid=$1 signal=$2
  shift 2
  wait_until "$pid" "$@" || return 1
  kill "-$signal" "$pid"
}

# temp_file_over DIR VOLUME MIB: a snapshot of VOLUME into DIR has written more
# than MIB MiB of its temporary file (0: the file is there).
temp_file_over() {
  [[ -n $(find "$1/$2" -maxdepth 1 -name '.dockform-tmp-*' -size "+$3M" 2>/dev/null) ]]
}

# ends_within PID SECONDS: waits up to SECONDS for PID, a child of this shell,
# to end and sets rc to its exit code. When it still runs then: kills it
# (SIGKILL), reaps it and returns 1.
ends_within() {
  local pid=$1 seconds=$2 i
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  rc=0
  wait "$pid" || rc=$?
}

# wait_exit PID SECONDS WHAT: ends_within PID SECONDS; fails the test naming
# WHAT when PID still ran SECONDS later.
wait_exit() {
  ends_within "$1" "$2" || fail "$3: dockform still runs $2 s later"
}

# fill_random VOLUME COUNT MIB [NAME]: COUNT files of MIB MiB of random bytes
# (incompressible: the stream takes as long as its size) at the volume's root,
# named NAME0, NAME1, ... (default r).
fill_random() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  vol_exec "$1" sh -c 'i=0; while [ $i -lt "$1" ]; do dd if=/dev/urandom of="/v/$3$i" bs=1M count="$2" 2>/dev/null; i=$((i+1)); done' \
    fill "$2" "$3" "${4:-r}" || fail "filling $1 with random bytes"
}

# vol_exec VOLUME CMD...: runs CMD in a throwaway busybox container with the
# volume mounted at /v (no network, no log: stdout/stderr still come back).
vol_exec() {
  local vol=$1
  shift
  _VOL_EXEC_N=$((_VOL_EXEC_N + 1))
  engine run --rm --name "${PFX}exec${_VOL_EXEC_N}" --network none --log-driver none \
    -v "$vol:/v" "$DOCKFORM_TEST_BUSYBOX_IMAGE" "$@"
}

# timed_df WHAT REPORT ARGS...: dockform ARGS under /usr/bin/time -v, its
# stderr and time's report in the file REPORT; fails the test naming WHAT
# when the run fails.
timed_df() {
  need_tools /usr/bin/time
  /usr/bin/time -v "$DOCKFORM" "${@:3}" 2>"$2" || fail "$1: $(tail -25 "$2")"
}

# assert_peak_rss REPORT MIB WHAT: prints the peak resident set size of the
# timed_df run of REPORT and fails the test when it is over MIB MiB (not
# checked under AddressSanitizer, whose shadow memory counts).
assert_peak_rss() {
  local rss
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2 / 1024}' "$1")
  echo "peak RSS of $3: $rss MiB"
  # (Not `ldd | grep -q`: grep ending early fails ldd with SIGPIPE under pipefail.)
  if [[ $(ldd "$DOCKFORM") != *libasan* ]]; then
    ((rss <= $2)) || fail "peak RSS of $3 is $rss MiB (at most $2 MiB expected)"
  fi
}

pass() {
  echo "PASS: $TEST_NAME"
}

# ---- shared by several tests -------------------------------------------------

# json_field [--json] FIELD[.SUB...] [FILE]: a field of the JSON in $OUT (or in
# FILE), a string printed raw and anything else as JSON (with --json everything
# as JSON); a number in the path indexes a list. Fails the test when the field
# is missing or the JSON cannot be read.
json_field() {
  local as=raw
  if [[ $1 == --json ]]; then
    as=json
    shift
  fi
  python3 -c 'import json,sys
field, how = sys.argv[1:3]
v = json.load(open(sys.argv[3], encoding="utf-8") if len(sys.argv) > 3 else sys.stdin)
for k in field.split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if how == "json" or not isinstance(v, str) else v)' "$1" "$as" "${@:2:1}" <<<"$OUT" ||
    fail "field $1 missing from ${2:-the JSON output}"
}

# files_under DIR: every non-folder below DIR, sorted (nothing when DIR is missing).
files_under() {
  [[ -d $1 ]] || return 0
  find "$1" -mindepth 1 -not -type d | sort
}

# run_user NAME VOLUME [RUN-FLAG...]: starts NAME, a busybox container with
# VOLUME mounted at /data that ends at once on SIGTERM.
run_user() {
  local name=$1 vol=$2
  shift 2
  engine run -d --name "$name" --network none "$@" -v "$vol:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" \
    sh -c 'trap "exit 0" TERM; sleep 3600 & wait' >/dev/null
}

# run_noting_user NAME VOLUME SECONDS [SCRIPT]: starts NAME, a user of VOLUME
# (at /data) that appends a line to $TERMS at each SIGTERM and ends SECONDS
# later. SCRIPT, when given, runs first in its shell, with the folder of
# $TERMS at /sig.
TERMS=$TEST_TMP/sig/terms
run_noting_user() {
  mkdir -p "${TERMS%/*}"
  [[ -e $TERMS ]] || : >"$TERMS"
  engine run -d --name "$1" --network none --log-driver none -v "$2:/data" -v "${TERMS%/*}:/sig" \
    "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c "${4:-}
    trap 'echo term >>/sig/terms; sleep $3; exit 0' TERM
    sleep 3600 & wait" >/dev/null
}

# running CONTAINER: true or false (nothing, and a failed status, when it does not exist).
running() { engine inspect -f '{{.State.Running}}' "$1"; }

# wait_running CONTAINER: waits up to 60 s for CONTAINER, started in the
# background, to run (a start takes over 10 s on a loaded 2-core CI machine);
# fails when it does not.
wait_running() {
  local deadline=$((SECONDS + 60))
  until [[ $(running "$1" 2>/dev/null) == true ]]; do
    ((SECONDS < deadline)) || fail "$1 did not start within 60 s"
    sleep 0.1
  done
}

# wait_gone CONTAINER WHAT: waits (30 s at most) until CONTAINER no longer
# exists; the engine removes an ended --rm container, or one given to rm -f
# while it is being removed, a moment later, and its name is taken until then.
wait_gone() {
  local i
  for ((i = 0; i < 300; i++)); do
    engine inspect "$1" >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  fail "$2: container $1 still there 30 s later"
}

# state_of CONTAINER: "running|StartedAt", to tell a container that was
# restarted from one that was never stopped.
state_of() { engine inspect --format '{{.State.Running}}|{{.State.StartedAt}}' "$1"; }

# my_owner: this shell as dockform names the owner of what it creates (boot
# id:pid:start time in clock ticks), for records and locks made by hand.
my_owner() {
  local stat fields
  stat=$(</proc/$$/stat)
  read -r -a fields <<<"${stat##*) }"
  printf '%s:%s:%s\n' "$(</proc/sys/kernel/random/boot_id)" "$$" "${fields[19]}"
}

# second_engine_start: a private engine of the test's own (scripts/lib/engine.sh),
# DOCKER_HOST pointing at it; for faults that must not touch the shared one.
# second_engine_stop (safe to call twice, and before a start) stops it and
# points DOCKER_HOST back at the shared engine, where lib.sh's cleanup runs.
second_engine_start() {
  [[ -n ${DOCKFORM_SOURCE_DIR:-} ]] || fail "DOCKFORM_SOURCE_DIR is not set (the repository, for scripts/lib/engine.sh)"
  # shellcheck source=../../scripts/lib/engine.sh
  source "$DOCKFORM_SOURCE_DIR/scripts/lib/engine.sh"
  # shellcheck source=../../scripts/lib/images.sh
  source "$DOCKFORM_SOURCE_DIR/scripts/lib/images.sh"
  _SHARED_HOST=$DOCKER_HOST
  dockform_engine_start || fail "could not start a second private engine (see the lines above)"
  [[ $DOCKER_HOST != "$_SHARED_HOST" ]] || fail "dockform_engine_start did not set a new DOCKER_HOST"
  echo "second engine: $DOCKER_HOST (dockerd $(cat "$DOCKFORM_ENGINE_DIR/dockerd.pid"))"
}
second_engine_stop() {
  [[ -n ${_SHARED_HOST:-} ]] || return 0
  dockform_engine_stop >/dev/null 2>&1 || true
  export DOCKER_HOST=$_SHARED_HOST
}

# helpers_of [-a] VOLUME: the ids of dockform's running helper containers for
# VOLUME (with -a the stopped ones too).
helpers_of() {
  local all=()
  if [[ $1 == -a ]]; then
    all=(-a)
    shift
  fi
  engine ps -q "${all[@]}" --filter label=io.dockform.helper --filter "label=io.dockform.volume=$1"
}

# settled CMD...: CMD's output once it is empty, or whatever it is after 10 s.
# For containers the engine removes by itself a moment after they exit: a
# reader lease ends with its run's connection and goes by AutoRemove.
settled() {
  local out deadline=$((SECONDS + 10))
  while out=$("$@") && [[ -n $out ]] && ((SECONDS < deadline)); do sleep 0.1; done
  printf '%s' "$out"
}

# root_names VOLUME: the names at the root of VOLUME, one a line (no . and ..).
root_names() { vol_exec "$1" ls -a /v | grep -v -x -e . -e .. || true; }

# assert_no_leftovers VOLUME WHAT: no .dockform-* entry at VOLUME's root, and
# dockform left neither a helper container nor a lock container for it.
assert_no_leftovers() {
  local vol=$1 what=$2 names left
  names=$(vol_exec "$vol" ls -a /v)
  assert_not_contains "$names" ".dockform-" "$what: .dockform-* entries left in $vol"
  left=$(helpers_of -a "$vol")
  assert_eq "" "$left" "$what: helper containers left for $vol"
  if engine inspect "dockform-lock-$vol" >/dev/null 2>&1; then
    fail "$what: lock container dockform-lock-$vol left behind"
  fi
  return 0
}

# assert_tree_is VOLUME WANT WHAT: VOLUME's tree_listing (fixtures.sh) is WANT
# (a diff when not).
assert_tree_is() {
  assert_same_lines "$2" "$(tree_listing "$1")" "$3"
}

# assert_volume_untouched VOLUME BEFORE WHAT: VOLUME's tree_listing (fixtures.sh)
# is still BEFORE, and assert_no_leftovers holds.
assert_volume_untouched() {
  local vol=$1 before=$2 what=$3 got
  got=$(tree_listing "$vol")
  # The listing has every path: stray entries (evil, link, .dockform-*) show as a diff.
  if [[ $got != "$before" ]]; then
    diff <(echo "$before") <(echo "$got") >&2 || true
    fail "$what: the volume changed (diff above)"
  fi
  assert_no_leftovers "$vol" "$what"
}

# keep_untouched VOLUME [APP]: records VOLUME's tree_listing (fixtures.sh) and
# the state of APP, a running user of it; check_untouched WHAT then holds
# assert_volume_untouched and that APP was neither stopped nor restarted.
_UNTOUCHED_VOLUME="" _UNTOUCHED_TREE="" _UNTOUCHED_APP="" _UNTOUCHED_STATE=""
keep_untouched() {
  _UNTOUCHED_VOLUME=$1
  _UNTOUCHED_APP=${2:-}
  _UNTOUCHED_TREE=$(tree_listing "$1")
  [[ -z $_UNTOUCHED_APP ]] || _UNTOUCHED_STATE=$(state_of "$_UNTOUCHED_APP")
}
check_untouched() {
  assert_volume_untouched "$_UNTOUCHED_VOLUME" "$_UNTOUCHED_TREE" "$1"
  if [[ -n $_UNTOUCHED_APP ]]; then
    assert_eq "$_UNTOUCHED_STATE" "$(state_of "$_UNTOUCHED_APP")" "$1: the container using the volume was stopped or restarted"
  fi
  return 0
}

# fault_trap [CONTAINER...]: for tests that kill dockform or break its
# surroundings. At exit: kills the run whose pid is in $df_pid (when set)
# and the holder in $holder_pid (hold_open),
# runs the test's on_fault_exit function (when defined), removes the named
# containers (what a killed run leaves that is not named $PFX*: its lock,
# its stopped-containers record), then lib.sh's cleanup.
df_pid=
_FAULT_CONTAINERS=()
# shellcheck disable=SC2120 # the containers are optional
fault_trap() {
  _FAULT_CONTAINERS=("$@")
  trap _fault_exit EXIT
}
_fault_exit() {
  local rc=$?
  [[ -z $df_pid ]] || kill -9 "$df_pid" 2>/dev/null || true
  [[ -z $holder_pid ]] || kill_engine_client "$holder_pid"
  release_hold
  if declare -F on_fault_exit >/dev/null; then on_fault_exit || true; fi
  ((${#_FAULT_CONTAINERS[@]} == 0)) || engine rm -f "${_FAULT_CONTAINERS[@]}" >/dev/null 2>&1 || true
  # Hand the status to lib.sh's handler; set -e would end this trap at `(exit 1)`.
  set +e
  (exit "$rc")
  _on_exit
}

# Holding a process at one system call, for the faults that need a helper
# frozen at one step (strace's syscall injection). need_strace: fails unless
# strace can trace here. hold_at_syscall PID SYSCALLS WHEN DELAY_US: strace
# holds PID for DELAY_US at the WHEN-th of its calls to SYSCALLS (a comma
# list); returns once strace is attached; its log is $TEST_TMP/strace.log.
# release_hold [SIGNAL]: ends strace (KILL by default): the held call then
# runs, unless the process was killed meanwhile. fault_trap's exit releases it.
HOLD_PID=
need_strace() {
  command -v strace >/dev/null || fail "strace is not installed (scripts/install-deps installs it)"
  strace -o /dev/null true 2>/dev/null || fail "strace cannot trace here (ptrace not allowed)"
}
hold_at_syscall() {
  strace -o "$TEST_TMP/strace.log" -p "$1" -e trace="$2" -e inject="$2:delay_enter=$4:when=$3" \
    2>"$TEST_TMP/strace.err" &
  HOLD_PID=$!
  until grep -q attached "$TEST_TMP/strace.err"; do
    kill -0 "$HOLD_PID" 2>/dev/null || fail "strace could not attach to process $1: $(<"$TEST_TMP/strace.err")"
    sleep 0.02
  done
}
# shellcheck disable=SC2120 # SIGNAL is optional
release_hold() {
  [[ -n $HOLD_PID ]] || return 0
  kill -s "${1:-KILL}" "$HOLD_PID" 2>/dev/null || true
  wait "$HOLD_PID" 2>/dev/null || true
  HOLD_PID=
}

# kill_held_helper: SIGKILL to $helper, held by strace (hold_at_syscall). A
# process held by strace dies of it only once strace lets it go: the kill is
# sent first, then strace ends (the held call is not run).
kill_held_helper() {
  local killer
  engine kill "$helper" >/dev/null 2>&1 &
  killer=$!
  sleep 1
  release_hold
  wait "$killer" || true
}

# restore_held_at_rename TERMS WHEN CONDITION COMMAND...: runs COMMAND (a
# restore into $target with --stop-containers) in the background ($df_pid)
# and returns once it stopped the user that notes each SIGTERM in the file
# TERMS, its helper ($helper) is held by strace at its WHEN-th rename, and the
# function CONDITION is true. dockform is stopped (SIGSTOP) while strace
# attaches, so that no rename passes unseen.
restore_held_at_rename() {
  local terms_file=$1 when=$2 condition=$3 deadline=$((SECONDS + 90)) terms id
  shift 3
  terms=$(wc -l <"$terms_file")
  "$@" >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" </dev/null &
  df_pid=$!
  until (($(wc -l <"$terms_file") > terms)); do
    kill -0 "$df_pid" 2>/dev/null || fail "the restore ended before it stopped its user: $(<"$TEST_TMP/run.err")"
    ((SECONDS < deadline)) || fail "the restore did not stop its user within 90 s"
    sleep 0.02
  done
  kill -STOP "$df_pid"
  helper=
  for id in $(helpers_of "$target"); do
    [[ $(engine inspect -f '{{json .Config.Cmd}}' "$id") == *'"restore"'* ]] && helper=$id
  done
  [[ -n $helper ]] || fail "no restore helper runs on $target"
  hold_at_syscall "$(engine inspect -f '{{.State.Pid}}' "$helper")" renameat,renameat2 "$when" 300000000
  kill -CONT "$df_pid"
  until "$condition"; do
    kill -0 "$df_pid" 2>/dev/null || fail "the restore ended before its helper was held: $(<"$TEST_TMP/run.err")"
    ((SECONDS < deadline)) || fail "the helper was not held at rename $when within 90 s"
    sleep 0.02
  done
}

# extracting_helper VOLUME: the restore's helper with stdin open runs on
# VOLUME; its id is then in EXTRACTING_HELPER.
EXTRACTING_HELPER=
extracting_helper() {
  local id
  for id in $(helpers_of "$1"); do
    if [[ $(engine inspect --format '{{.Config.OpenStdin}}' "$id" 2>/dev/null) == true ]]; then
      EXTRACTING_HELPER=$id
      return 0
    fi
  done
  return 1
}

# until_extracting PID VOLUME ERR-FILE SECONDS: waits for extracting_helper
# VOLUME while PID, a dockform run in the background with its stderr in
# ERR-FILE, runs; fails the test when PID ends first or SECONDS pass.
until_extracting() {
  local pid=$1 vol=$2 err=$3 deadline=$((SECONDS + $4)) rc=0
  until extracting_helper "$vol"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" || rc=$?
      fail "the run ended (exit $rc) before a helper extracted into $vol: $(<"$err")"
    fi
    ((SECONDS < deadline)) || fail "no helper extracted into $vol within $4 s: $(<"$err")"
    sleep 0.05
  done
}

# kill_while_extracting PID VOLUME ERR-FILE SECONDS: until_extracting, a
# moment for the helper to write, then SIGKILL to PID (and reaps it); fails
# the test when PID ended meanwhile.
kill_while_extracting() {
  until_extracting "$@"
  sleep 0.2
  kill -0 "$1" 2>/dev/null || fail "the run ended before it could be killed: $(<"$3")"
  kill -9 "$1"
  wait "$1" 2>/dev/null || true
}

# hold_open NAME RUN-FLAG...: runs NAME (busybox, no network) with its stdin
# held open by an engine client in the background, as dockform holds a lease
# or a lock; the client's pid is in holder_pid (fault_trap's exit ends it).
# end_holder: ends that client (the holder's connection closes) and reaps it.
holder_pid=
hold_open() {
  local name=$1
  shift
  # An earlier holder of the name may still be on its way out (its --rm, or
  # an rm -f, ends a moment later): a run now would fail on the name, unseen.
  wait_gone "$name" "hold_open $name"
  # A fifo opened read-write never reaches its end: stdin stays open until the client dies.
  [[ -p $TEST_TMP/stdin ]] || mkfifo "$TEST_TMP/stdin"
  engine run -i --rm --name "$name" --network none --log-driver none "$@" "$DOCKFORM_TEST_BUSYBOX_IMAGE" \
    sh -c 'while read -t 600 _; do :; done' <>"$TEST_TMP/stdin" >/dev/null 2>"$TEST_TMP/holder.err" &
  holder_pid=$!
  local deadline=$((SECONDS + 60))
  until [[ $(running "$name" 2>/dev/null) == true ]]; do
    kill -0 "$holder_pid" 2>/dev/null || fail "hold_open $name: its engine run ended: $(cat "$TEST_TMP/holder.err")"
    ((SECONDS < deadline)) || fail "$name did not start within 60 s: $(cat "$TEST_TMP/holder.err")"
    sleep 0.1
  done
}
end_holder() {
  [[ -n $holder_pid ]] || return 0
  kill_engine_client "$holder_pid"
  wait "$holder_pid" 2>/dev/null || true
  holder_pid=
}

# kill_engine_client PID: SIGKILL to a backgrounded `engine ...` (PID is the
# subshell that runs the function) and to the client it started, as a crash
# of the machine that ran that client would end it.
kill_engine_client() {
  pkill -KILL -P "$1" 2>/dev/null || true
  kill -KILL "$1" 2>/dev/null || true
}

# watch_exits ID SINCE FILE: appends the exit code of every end of container ID
# (die on Docker, died on Podman) from epoch second SINCE on to FILE, one a
# line, until the test ends. Take SINCE before the container is created: the
# engine replays what happened since, so nothing is missed however late the
# watcher subscribes, and the id filter keeps other containers' ends (an
# earlier container of the same name) out whatever second they fell in.
watch_exits() {
  local id=$1 since=$2 file=$3 event=die format='{{index .Actor.Attributes "exitCode"}}'
  if [[ ${DOCKFORM_TEST_ENGINE:-docker} == podman ]]; then
    event=died format='{{.ContainerExitCode}}'
  fi
  : >"$file"
  engine events --since "$since" --filter "container=$id" --filter "event=$event" --format "$format" >>"$file" &
  _BACKGROUND_PIDS+=("$!")
}

# wait_lines FILE N WHAT [SECONDS]: waits until FILE has at least N lines
# (default deadline 60 s), then prints its content.
wait_lines() {
  local file=$1 n=$2 what=$3 deadline=$((SECONDS + ${4:-60}))
  until (($(wc -l <"$file") >= n)); do
    ((SECONDS < deadline)) || fail "$what: $n line(s) expected in $file within ${4:-60} s, got [$(<"$file")]"
    sleep 0.1
  done
  cat "$file"
}

# Test data (fill_tricky, tree_listing, ...) and the usual starts of a test.
# shellcheck source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"
