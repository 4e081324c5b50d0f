#!/usr/bin/env bash
# Whatever keeps dockform from the engine exits 4 with the endpoint and the
# cause, and never falls back: a server certificate from another CA, missing
# certificate files, plain HTTP to the TLS port, ssh with an unknown host key,
# with a key the server refuses, and with no engine behind the remote socket.
# TLS without verification is used only when asked (DOCKER_TLS).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote.sh"

vol=${PFX}v
write_manifest "$TEST_TMP/m" errors "$vol"
TLS=$DOCKFORM_TEST_REMOTE_TLS_HOST

# expect_unreachable WHAT NEEDLE: the last run exited 4, naming the endpoint and NEEDLE.
expect_unreachable() {
  assert_eq 4 "$RC" "$1: exit code"
  assert_contains "$ERR" "$2" "$1: the cause"
  [[ -n ${3:-} ]] && assert_contains "$ERR" "$3" "$1: the endpoint"
  return 0
}

# Another CA: the server is refused, through the environment and through a context.
DOCKER_HOST=$TLS DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$DOCKFORM_TEST_REMOTE_WRONG_CERTS run_df -c "$TEST_TMP/m" apply
expect_unreachable "wrong CA" "certificate" "$TLS"
assert_contains "$ERR" "TLS" "wrong CA: says TLS"
sed 's/^docker:$/docker:\n  context: dfwrongca/' "$TEST_TMP/m/dockform.yml" >"$TEST_TMP/ctx.yml"
mkdir -p "$TEST_TMP/ctx" && mv "$TEST_TMP/ctx.yml" "$TEST_TMP/ctx/dockform.yml"
DOCKER_CONFIG=$DOCKFORM_TEST_REMOTE_DOCKER_CONFIG run_df -c "$TEST_TMP/ctx" volume snapshot "$vol" -o "$TEST_TMP/s"
expect_unreachable "wrong CA in a context" "certificate" "$TLS"
engine volume inspect "$vol" >/dev/null 2>&1 && fail "apply with a refused server created the volume"

# Missing certificate folder.
DOCKER_HOST=$TLS DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$TEST_TMP/none run_df -c "$TEST_TMP/m" validate
expect_unreachable "missing CA file" "$TEST_TMP/none/ca.pem" "$TLS"

# Plain HTTP to the TLS port: refused, no fallback either way.
DOCKER_HOST=$TLS run_df -c "$TEST_TMP/m" validate
expect_unreachable "plain HTTP to a TLS port" "$TLS" "$TLS"

# DOCKER_TLS without verification: only when asked (the client pair is still sent).
DOCKER_HOST=$TLS DOCKER_TLS=1 DOCKER_CERT_PATH=$DOCKFORM_TEST_REMOTE_WRONG_CERTS run_df -c "$TEST_TMP/m" validate
assert_eq 0 "$RC" "DOCKER_TLS without verification"

# ssh: unknown host key.
sed "s|UserKnownHostsFile .*|UserKnownHostsFile $TEST_TMP/empty_known_hosts|" "$SSH_CONFIG" >"$TEST_TMP/nokey_config"
: >"$TEST_TMP/empty_known_hosts"
DOCKER_HOST=$DOCKFORM_TEST_REMOTE_SSH_HOST DOCKFORM_SSH_OPTS="-F $TEST_TMP/nokey_config" run_df -c "$TEST_TMP/m" validate
expect_unreachable "unknown host key" "Host key verification failed" "$DOCKFORM_TEST_REMOTE_SSH_HOST"

# ssh: a key the server does not accept.
ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/stranger" -C stranger
sed "s|IdentityFile .*|IdentityFile $TEST_TMP/stranger|" "$SSH_CONFIG" >"$TEST_TMP/stranger_config"
DOCKER_HOST=$DOCKFORM_TEST_REMOTE_SSH_HOST DOCKFORM_SSH_OPTS="-F $TEST_TMP/stranger_config" run_df -c "$TEST_TMP/m" validate
expect_unreachable "refused key" "Permission denied" "$DOCKFORM_TEST_REMOTE_SSH_HOST"

# ssh: no engine behind the remote socket (docker system dial-stdio fails there).
DOCKER_HOST=$DOCKFORM_TEST_REMOTE_SSH_HOST/tmp/no-such-dir/docker.sock DOCKFORM_SSH_OPTS="-F $SSH_CONFIG" \
  run_df -c "$TEST_TMP/m" validate
expect_unreachable "no engine on the remote" "no-such-dir" "$DOCKFORM_TEST_REMOTE_SSH_HOST"

assert_no_ssh_left
for p in $(pgrep -f -- "-F $TEST_TMP/" || true); do
  fail "ssh left running: $(tr '\0' ' ' <"/proc/$p/cmdline")"
done
pass
