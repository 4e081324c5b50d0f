# shellcheck shell=bash
# Sourced by every tests/e2e/test_*.sh. ctest runs each test with
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
: "${DOCKFORM_HELPER_IMAGE:=$DOCKFORM_TEST_BUSYBOX_IMAGE}" # no registry is reachable
export DOCKFORM_TEST_BUSYBOX_IMAGE DOCKFORM_TEST_GNUTAR_IMAGE DOCKFORM_HELPER_IMAGE
unset DOCKER_CONTEXT

PFX="t$$_"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dftest.${TEST_NAME}.XXXXXX")
OUT="" ERR="" RC=""
_VOL_EXEC_N=0

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
  ((${#ids[@]} == 0)) || engine rm -f "${ids[@]}" >/dev/null 2>&1
  while read -r name; do
    [[ $name == "$PFX"* ]] && engine volume rm -f "$name" >/dev/null 2>&1
  done < <(engine volume ls -q 2>/dev/null)
  while read -r name; do
    [[ $name == "$PFX"* ]] && engine network rm "$name" >/dev/null 2>&1
  done < <(engine network ls --format '{{.Name}}' 2>/dev/null)
  rm -rf "$TEST_TMP"
  return 0
}
_on_exit() {
  local rc=$? # the test's exit status, kept whatever the cleanup does
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

# vol_exec VOLUME CMD...: runs CMD in a throwaway busybox container with the
# volume mounted at /v (no network, no log: stdout/stderr still come back).
vol_exec() {
  local vol=$1
  shift
  _VOL_EXEC_N=$((_VOL_EXEC_N + 1))
  engine run --rm --name "${PFX}exec${_VOL_EXEC_N}" --network none --log-driver none \
    -v "$vol:/v" "$DOCKFORM_TEST_BUSYBOX_IMAGE" "$@"
}

pass() {
  echo "PASS: $TEST_NAME"
}
