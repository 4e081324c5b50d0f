#!/usr/bin/env bash
# stages: sanitize
# slow
# Every operation over tcp with TLS (DOCKER_HOST + DOCKER_TLS_VERIFY +
# DOCKER_CERT_PATH, certificates made by scripts/lib/remote.sh): apply,
# snapshot, list, verify, restore (empty volume; volume in use with
# --force --stop-containers), SIGKILL mid-restore and a recovering restore.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote.sh"

over tls version --json
assert_eq 0 "$RC" "version over TLS"
assert_eq tcp+tls "$(json_field endpoint.transport)" "transport"
assert_not_contains "$OUT" '"engine": null' "the engine answers over TLS"

remote_roundtrip tls
pass
