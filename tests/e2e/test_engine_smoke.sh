#!/usr/bin/env bash
# stages: podman
# The engine the e2e tests use answers, and the local test images work.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

server=$(engine version --format '{{.Server.Version}}' 2>&1) || fail "docker version: $server"
[[ -n $server ]] || fail "docker version printed no server version"
echo "engine at $DOCKER_HOST: dockerd $server"

for image in "$DOCKFORM_TEST_BUSYBOX_IMAGE" "$DOCKFORM_TEST_GNUTAR_IMAGE"; do
  engine image inspect "$image" >/dev/null 2>&1 || fail "image $image is missing (scripts/lib/images.sh builds it)"
done

out=$(engine run --rm --network none "$DOCKFORM_TEST_GNUTAR_IMAGE" tar --version 2>&1) ||
  fail "tar --version in $DOCKFORM_TEST_GNUTAR_IMAGE: $out"
assert_contains "$out" "GNU tar" "tar in $DOCKFORM_TEST_GNUTAR_IMAGE"
out=$(engine run --rm --network none "$DOCKFORM_TEST_GNUTAR_IMAGE" sh -c 'tar --version; zstd --version' 2>&1) ||
  fail "sh -c tar/zstd in $DOCKFORM_TEST_GNUTAR_IMAGE: $out"
assert_contains "$out" "GNU tar" "tar through sh in $DOCKFORM_TEST_GNUTAR_IMAGE"
assert_contains "$out" "Zstandard" "zstd in $DOCKFORM_TEST_GNUTAR_IMAGE"

# A prefixed volume written and read back through vol_exec (and removed at exit).
vol=${PFX}smoke
engine volume create "$vol" >/dev/null
vol_exec "$vol" sh -c 'echo hello >/v/greeting'
assert_eq "hello" "$(vol_exec "$vol" cat /v/greeting)" "file read back from $vol"

pass
