#!/usr/bin/env bash
# stages: sanitize
# slow
# Every operation over ssh:// (ssh ... docker system dial-stdio to an sshd of the
# test's own, DOCKFORM_SSH_OPTS=-F CONFIG): apply, snapshot, list, verify,
# restore (empty volume; volume in use with --force --stop-containers), SIGKILL
# mid-restore and a recovering restore (which leaves nothing in /tmp); SIGTERM
# mid-snapshot; no ssh process outlives dockform; the requests of one run share
# one ssh.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote.sh"

over ssh version --json
assert_eq 0 "$RC" "version over ssh"
assert_eq ssh "$(json_field endpoint.transport)" "transport"
assert_not_contains "$OUT" '"engine": null' "the engine answers over ssh"
assert_no_ssh_left

# One ssh carries a run's control calls: libcurl reuses the connection (a new
# ssh per request made every command over ssh several times slower).
mkdir -p "$TEST_TMP/bin"
printf '#!/bin/sh\necho started >>"%s"\nexec %s "$@"\n' "$TEST_TMP/ssh.starts" "$(command -v ssh)" >"$TEST_TMP/bin/ssh"
chmod +x "$TEST_TMP/bin/ssh"
PATH="$TEST_TMP/bin:$PATH" over ssh version --json
assert_eq 0 "$RC" "version over ssh through the counting ssh"
assert_not_contains "$OUT" '"engine": null' "the engine answers through the counting ssh"
assert_eq 1 "$(wc -l <"$TEST_TMP/ssh.starts")" "ssh processes started by one version over ssh (several requests)"

remote_roundtrip ssh

# user@host:port in the URL, with the same client config for keys and known hosts.
DOCKER_HOST=$DOCKFORM_TEST_REMOTE_SSH_URL DOCKFORM_SSH_OPTS="-F $SSH_CONFIG" run_df version
assert_contains "$OUT" "transport ssh" "version names the transport"
assert_contains "$OUT" "engine " "user@host:port reaches the engine"
assert_not_contains "$OUT" "not reachable" "user@host:port reaches the engine"

# SIGTERM in the middle of a snapshot: dockform cleans up and no ssh is left.
vol=${PFX}big
mapfile -t vars < <(transport_env ssh)
env "${vars[@]}" "$DOCKFORM" -c "$TEST_TMP/m" volume snapshot "$vol" -o "$TEST_TMP/term" --level 19 \
  >"$TEST_TMP/term.out" 2>"$TEST_TMP/term.err" </dev/null &
pid=$!
deadline=$((SECONDS + 60))
until [[ -n $(helpers_of "$vol") ]]; do
  kill -0 "$pid" 2>/dev/null || fail "the snapshot ended before SIGTERM"
  ((SECONDS < deadline)) || fail "no snapshot helper within 60 s"
  sleep 0.05
done
sleep 0.3
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[[ $rc != 0 ]] || fail "the snapshot finished before SIGTERM reached it"
assert_no_ssh_left
assert_no_helper_left "$vol"
pass
