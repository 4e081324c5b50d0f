# shellcheck shell=bash
# The command-line client of the engine under test, for scripts and tests:
#   engine ARGS...   runs `docker ARGS...`, or `podman --url $DOCKER_HOST ARGS...`
#                    when DOCKFORM_TEST_ENGINE=podman (set by scripts/lib/podman.sh)
# Both clients take the same commands and flags for what the tests use. One
# output differs: in `inspect` templates podman prints UTC times in Go's default
# layout (2026-11-27 13:41:51.1 +0000 UTC) where docker prints RFC 3339
# (2026-11-27T13:41:51.1Z); engine prints RFC 3339 for both.
engine() {
  if [[ ${DOCKFORM_TEST_ENGINE:-docker} != podman ]]; then
    docker "$@"
    return
  fi
  if [[ ${1:-} != inspect ]]; then
    podman --url "$DOCKER_HOST" "$@"
    return
  fi
  podman --url "$DOCKER_HOST" "$@" |
    sed -E 's/([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?) \+0000 UTC/\1T\2Z/g'
  return "${PIPESTATUS[0]}"
}
