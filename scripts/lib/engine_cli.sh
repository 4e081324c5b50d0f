# shellcheck shell=bash
# The command-line client of the engine under test, for scripts and tests:
#   engine ARGS...   runs `docker ARGS...`, or `podman --url $DOCKER_HOST ARGS...`
#                    when DOCKFORM_TEST_ENGINE=podman (set by scripts/lib/podman.sh)
# Both clients take the same commands and flags for what the tests use.
engine() {
  if [[ ${DOCKFORM_TEST_ENGINE:-docker} == podman ]]; then
    podman --url "$DOCKER_HOST" "$@"
  else
    docker "$@"
  fi
}
