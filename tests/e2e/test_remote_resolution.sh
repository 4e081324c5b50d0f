#!/usr/bin/env bash
# The engine is chosen as the Docker CLI chooses it, with a context store
# written by the real `docker context create`: DOCKER_HOST, then DOCKER_CONTEXT,
# then currentContext, then the standard socket; a manifest's docker.context
# wins over all of them, and `default` there means the environment only.
# `version --json` says which endpoint, transport and why.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote.sh"

CFG=$TEST_TMP/docker-config
cp -r "$DOCKFORM_TEST_REMOTE_DOCKER_CONFIG" "$CFG"
UNIX_HOST=$DOCKER_HOST
export DOCKFORM_SSH_OPTS="-F $SSH_CONFIG"

# expect TRANSPORT SOURCE REACHABLE(yes|no|any) MESSAGE: checks the last run.
expect() {
  assert_eq 0 "$RC" "$4: version exits 0"
  assert_eq "$1" "$(json_field endpoint.transport)" "$4: transport"
  assert_eq "$2" "$(json_field endpoint.source)" "$4: source"
  case $3 in
    yes) assert_not_contains "$OUT" '"engine": null' "$4: the engine answers" ;;
    no) assert_contains "$OUT" '"engine": null' "$4: the engine does not answer" ;;
  esac
}

# 1. DOCKER_HOST wins over DOCKER_CONTEXT and currentContext.
printf '{"currentContext": "dfwrongca"}\n' >"$CFG/config.json"
DOCKER_CONFIG=$CFG DOCKER_CONTEXT=dfwrongca run_df version --json
expect unix DOCKER_HOST yes "DOCKER_HOST first"

# 2. DOCKER_CONTEXT wins over currentContext.
DOCKER_HOST='' DOCKER_CONFIG=$CFG DOCKER_CONTEXT=dfssh run_df version --json
expect ssh "DOCKER_CONTEXT dfssh" yes "DOCKER_CONTEXT second"

# 3. currentContext.
printf '{"currentContext": "dftls"}\n' >"$CFG/config.json"
DOCKER_HOST='' DOCKER_CONFIG=$CFG run_df version --json
expect tcp+tls "current context dftls" yes "currentContext third"
assert_eq dftls "$(json_field endpoint.context)" "context name"

# 4. Nothing set: the standard socket.
rm "$CFG/config.json"
DOCKER_HOST='' DOCKER_CONFIG=$CFG run_df version --json
expect unix default any "standard socket last"
assert_eq unix:///var/run/docker.sock "$(json_field endpoint.url)" "standard socket"

# 5. A manifest's docker.context wins over DOCKER_HOST and DOCKER_CONTEXT.
write_manifest "$TEST_TMP/m" resolution
sed -i 's/^docker:$/docker:\n  context: dftls/' "$TEST_TMP/m/dockform.yml"
DOCKER_CONFIG=$CFG DOCKER_CONTEXT=dfssh run_df -c "$TEST_TMP/m" version --json
expect tcp+tls "manifest docker.context dftls" yes "manifest context over DOCKER_HOST"
DOCKER_CONFIG=$CFG run_df -c "$TEST_TMP/m" validate
assert_eq 0 "$RC" "validate through the manifest's context"

# 6. docker.context: default is the environment without DOCKER_CONTEXT / currentContext.
sed -i 's/context: dftls/context: default/' "$TEST_TMP/m/dockform.yml"
printf '{"currentContext": "dftls"}\n' >"$CFG/config.json"
DOCKER_HOST='' DOCKER_CONFIG=$CFG DOCKER_CONTEXT=dfssh run_df -c "$TEST_TMP/m" version --json
expect unix "manifest docker.context default (default)" any "manifest default ignores contexts"
DOCKER_CONFIG=$CFG DOCKER_CONTEXT=dfssh run_df -c "$TEST_TMP/m" version --json
expect unix "manifest docker.context default (DOCKER_HOST)" yes "manifest default takes DOCKER_HOST"
assert_eq "$UNIX_HOST" "$(json_field endpoint.url)" "manifest default takes DOCKER_HOST"

# 7. A context the store does not have: exit 4, named.
sed -i 's/context: default/context: no-such-ctx/' "$TEST_TMP/m/dockform.yml"
DOCKER_CONFIG=$CFG run_df -c "$TEST_TMP/m" validate
assert_eq 4 "$RC" "unknown context"
assert_contains "$ERR" "no-such-ctx" "the unknown context is named"

# 8. Text output of version.
DOCKER_HOST='' DOCKER_CONFIG=$CFG DOCKER_CONTEXT=dftls run_df version
assert_contains "$OUT" "endpoint $DOCKFORM_TEST_REMOTE_TLS_HOST (transport tcp+tls, from DOCKER_CONTEXT dftls)" "version text"
assert_contains "$OUT" "engine " "version text names the engine"
assert_no_ssh_left
pass
