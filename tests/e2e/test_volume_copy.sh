#!/usr/bin/env bash
# stages: podman
# slow
# `volume copy VOLUME --to TARGET`: one streaming pass, no file.
# Against dockerd (stage 1):
# - to the same engine by its unix:// URL with --as: the target volume is
#   created like the source's (driver, labels) and holds every byte;
# - over TLS (tcp:// with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) onto a volume in
#   use: refused without --force/--stop-containers with the target untouched;
#   with them, copied, and the users of both sides run again;
# - over ssh:// with --as; no ssh process left;
# - SIGTERM mid-copy: the target untouched, the source's stopped user running
#   again, no helper left; the ssh transport killed mid-copy: the target's
#   live content as it was, the source's user running, the next copy whole;
# - on a terminal, the progress line: bytes of the estimated total, rate, ETA;
# Against Podman (stage 4): Docker -> Podman, the private dockerd as the source.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=${PFX}src
M=$TEST_TMP/manifest
write_manifest "$M" copy "$src"

# ---------------------------------------------------------------- Docker -> Podman (stage 4)
if [[ ${DOCKFORM_TEST_ENGINE:-docker} == podman ]]; then
  [[ -n ${DOCKFORM_TEST_DOCKERD_HOST:-} ]] || fail "DOCKFORM_TEST_DOCKERD_HOST is not set (scripts/lib/podman.sh)"
  podman_host=$DOCKER_HOST
  dockerd() { docker -H "$DOCKFORM_TEST_DOCKERD_HOST" "$@"; }
  trap 'dockerd rm -f "${PFX}dsrc" >/dev/null 2>&1; dockerd volume rm -f "$src" >/dev/null 2>&1; _on_exit' EXIT
  dockerd volume create --label purpose=copy "$src" >/dev/null
  dockerd run --rm --network none -v "$src:/v" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c '
    mkdir -p /v/a/b && echo hello > /v/a/b/file && dd if=/dev/urandom of=/v/random bs=1M count=8 2>/dev/null &&
    chown 1234:5678 /v/a/b/file && chmod 640 /v/a/b/file' || fail "filling the Docker volume"
  want=$(dockerd run --rm --network none -v "$src:/v:ro" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c \
    'cd /v && find . | sort | while read -r p; do stat -c "%n %a %u:%g %s" "$p"; done; sha256sum random a/b/file')
  RC=0
  DOCKER_HOST=$DOCKFORM_TEST_DOCKERD_HOST "$DOCKFORM" -c "$M" volume copy "$src" --to "$podman_host" --json \
    >"$TEST_TMP/copy.json" 2>"$TEST_TMP/copy.err" </dev/null || RC=$?
  assert_eq 0 "$RC" "copy Docker -> Podman: $(cat "$TEST_TMP/copy.err")"
  assert_eq "true" "$(json_field created "$TEST_TMP/copy.json")" "the Podman volume was created"
  assert_eq "true" "$(json_field checksum_verified "$TEST_TMP/copy.json")" "the checksum was compared"
  got=$(engine run --rm --network none -v "$src:/v:ro" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c \
    'cd /v && find . | sort | while read -r p; do stat -c "%n %a %u:%g %s" "$p"; done; sha256sum random a/b/file')
  assert_eq "$want" "$got" "Podman's volume holds what Docker's held"
  assert_eq "copy" "$(engine volume inspect --format '{{index .Labels "purpose"}}' "$src")" "labels came along"
  pass
  exit 0
fi

# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote.sh"
engine volume create --label purpose=copy "$src" >/dev/null
fill_tricky "$src"
want=$(tree_listing "$src")

# ---------------------------------------------------------------- unix, --as, created
run_df -c "$M" volume copy "$src" --to "$DOCKER_HOST" --as "${PFX}unix" --json
assert_eq 0 "$RC" "copy over unix with --as: $ERR"
assert_eq "true" "$(json_field created)" "the target volume was created"
assert_eq "true" "$(json_field checksum_verified)" "the source's checksum was compared before the swap"
assert_eq "$want" "$(tree_listing "${PFX}unix")" "the copy holds every byte"
assert_eq "copy" "$(engine volume inspect --format '{{index .Labels "purpose"}}' "${PFX}unix")" "labels came along"
run_df -c "$M" volume copy "$src" --to "$DOCKER_HOST"
assert_eq 2 "$RC" "a copy onto itself"

# ---------------------------------------------------------------- TLS, a target in use
tls=${PFX}tls
engine volume create "$tls" >/dev/null
vol_exec "$tls" sh -c 'echo old > /v/old'
run_user "${PFX}tuser" "$tls"
run_user "${PFX}suser" "$src"
before=$(tree_listing "$tls")
tls_env=(DOCKER_TLS_VERIFY=1 "DOCKER_CERT_PATH=$DOCKFORM_TEST_REMOTE_TLS_CERTS")
RC=0
env "${tls_env[@]}" "$DOCKFORM" -c "$M" volume copy "$src" --to "$DOCKFORM_TEST_REMOTE_TLS_HOST" --as "$tls" \
  </dev/null >/dev/null 2>"$TEST_TMP/tls.err" || RC=$?
assert_eq 3 "$RC" "copy onto a volume in use without --force: $(cat "$TEST_TMP/tls.err")"
assert_volume_untouched "$tls" "$before" "a refused copy"
assert_eq "true" "$(running "${PFX}suser")" "the source's user runs after a refused copy"
RC=0
env "${tls_env[@]}" "$DOCKFORM" -c "$M" volume copy "$src" --to "$DOCKFORM_TEST_REMOTE_TLS_HOST" --as "$tls" \
  --force --stop-containers --json </dev/null >"$TEST_TMP/tls.json" 2>"$TEST_TMP/tls.err" || RC=$?
assert_eq 0 "$RC" "copy over TLS with --force --stop-containers: $(cat "$TEST_TMP/tls.err")"
assert_eq "false" "$(json_field created "$TEST_TMP/tls.json")" "an existing target is not created"
assert_eq "[\"${PFX}suser\"]" "$(json_field source_containers_started "$TEST_TMP/tls.json")" "the source's user started again"
assert_eq "[\"${PFX}tuser\"]" "$(json_field target_containers_started "$TEST_TMP/tls.json")" "the target's user started again"
assert_eq "true" "$(running "${PFX}tuser")" "the target's user runs"
assert_eq "true" "$(running "${PFX}suser")" "the source's user runs"
assert_eq "$want" "$(tree_listing "$tls")" "the copy over TLS holds every byte"
remove_now "${PFX}tuser" "${PFX}suser"

# ---------------------------------------------------------------- ssh
over ssh -c "$M" volume copy "$src" --to "$DOCKFORM_TEST_REMOTE_SSH_HOST" --as "${PFX}ssh"
assert_eq 0 "$RC" "copy over ssh: $ERR"
assert_eq "$want" "$(tree_listing "${PFX}ssh")" "the copy over ssh holds every byte"
assert_no_ssh_left

# wait_extracting VOLUME ERRFILE: until the copy's helper extracts into VOLUME (60 s at most).
wait_extracting() { until_extracting "$df_pid" "$1" "$2" 60; }

# ---------------------------------------------------------------- SIGTERM mid-copy
big=${PFX}big
killed=${PFX}killed
write_manifest "$TEST_TMP/big" copy "$big"
engine volume create "$big" >/dev/null
vol_exec "$big" sh -c 'dd if=/dev/urandom of=/v/random bs=1M count=300 2>/dev/null' || fail "filling $big"
engine volume create "$killed" >/dev/null
vol_exec "$killed" sh -c 'echo keep > /v/keep'
before=$(tree_listing "$killed")
run_user "${PFX}buser" "$big"
"$DOCKFORM" -c "$TEST_TMP/big" volume copy "$big" --to "$DOCKER_HOST" --as "$killed" --force --stop-containers \
  </dev/null >/dev/null 2>"$TEST_TMP/killed.err" &
df_pid=$!
wait_extracting "$killed" "$TEST_TMP/killed.err"
kill -TERM "$df_pid"
RC=0
wait "$df_pid" || RC=$?
df_pid=
[[ $RC != 0 ]] || fail "a copy stopped by SIGTERM exited 0"
assert_volume_untouched "$killed" "$before" "a copy stopped by SIGTERM"
assert_no_helper_left "$big"
assert_eq "true" "$(running "${PFX}buser")" "the source's user runs again after SIGTERM"

# ---------------------------------------------------------------- the ssh transport dropped mid-copy
# The target's live content stays as it was (its staging may wait for the
# next run, which finishes or removes it); the source's user runs again; the
# next copy succeeds.
live_only() { grep -v -e '|\./\.dockform-' -e '^count=' <<<"$1"; }
DOCKFORM_SSH_OPTS="-F $SSH_CONFIG" "$DOCKFORM" -c "$TEST_TMP/big" volume copy "$big" \
  --to "$DOCKFORM_TEST_REMOTE_SSH_HOST" --as "$killed" --force --stop-containers \
  </dev/null >/dev/null 2>"$TEST_TMP/ssh.err" &
df_pid=$!
wait_extracting "$killed" "$TEST_TMP/ssh.err"
for pid in $(ssh_left); do kill -KILL "$pid" 2>/dev/null || true; done
RC=0
wait "$df_pid" || RC=$?
df_pid=
[[ $RC != 0 ]] || fail "a copy whose ssh transport was killed exited 0"
assert_eq "$(live_only "$before")" "$(live_only "$(tree_listing "$killed")")" "the target's live content after the ssh drop"
assert_eq "true" "$(running "${PFX}buser")" "the source's user runs again after the ssh drop"
over ssh -c "$TEST_TMP/big" volume copy "$big" --to "$DOCKFORM_TEST_REMOTE_SSH_HOST" --as "$killed" --force
assert_eq 0 "$RC" "the copy after the ssh drop: $ERR"
assert_eq "$(vol_exec "$big" sha256sum /v/random)" "$(vol_exec "$killed" sha256sum /v/random)" "the copy after the ssh drop"
assert_no_leftovers "$killed" "the copy after the ssh drop"
assert_no_ssh_left

# ---------------------------------------------------------------- progress: bytes, rate, ETA
# On a terminal the progress line counts tar bytes against the source
# helper's estimate: here over ssh, where the stream itself is compressed.
DOCKFORM_SSH_OPTS="-F $SSH_CONFIG" script -qec "$DOCKFORM -c $TEST_TMP/big volume copy $big \
  --to $DOCKFORM_TEST_REMOTE_SSH_HOST --as ${PFX}eta" /dev/null >"$TEST_TMP/eta.out" 2>&1 </dev/null ||
  fail "a copy on a terminal: $(cat "$TEST_TMP/eta.out")"
tr '\r' '\n' <"$TEST_TMP/eta.out" | grep -Eq ' of 3[0-9]{2}(\.[0-9])? MiB \([0-9]+%\), .*/s, ETA [0-9]+:[0-9]{2}' ||
  fail "no progress line with the total (about 300 MiB), the rate and an ETA: $(tr '\r' '\n' <"$TEST_TMP/eta.out")"
assert_no_ssh_left
pass
