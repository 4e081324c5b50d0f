#!/usr/bin/env bash
# stages: sanitize
# slow
# Object storage faults, against a real Ceph radosgw: a wrong secret, another
# user's credentials, a missing bucket and an unreachable endpoint fail with exit 6 and a message naming the
# bucket, the endpoint and the server's error code; SIGINT or SIGTERM mid-upload aborts
# the multipart upload (no object, no upload left); SIGKILL mid-upload leaves
# no object, and its upload is aborted by a later run only once older than
# DOCKFORM_S3_ABANDONED_AFTER; radosgw killed mid-upload leaves no object,
# killed mid-restore leaves the volume untouched.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

big=${PFX}big
small=${PFX}small
dst=${PFX}dst
manifest_and_volumes s3faults "$big" "$small" "$dst"
vol_exec "$small" sh -c 'echo hello > /v/a; mkdir /v/d; echo x > /v/d/x'
# ~300 MB, mostly incompressible: uploading a snapshot of it takes seconds.
vol_exec "$big" sh -c '
  dd if=/dev/urandom of=/v/random1 bs=1M count=200 2>/dev/null &&
  dd if=/dev/zero of=/v/zeros bs=1M count=60 2>/dev/null &&
  dd if=/dev/urandom of=/v/random2 bs=1M count=40 2>/dev/null' || fail "filling $big"
SHARED_ENDPOINT=$AWS_ENDPOINT_URL_S3

# --- 1. Wrong secret. ---
AWS_SECRET_ACCESS_KEY=wrong-secret run_df -c "$M" volume snapshot "$small" -o "$S3_BASE"
assert_eq 6 "$RC" "snapshot with a wrong secret"
assert_contains "$ERR" "SignatureDoesNotMatch" "the server's error code"
assert_contains "$ERR" "bucket $S3_BUCKET" "the message names the bucket"
assert_contains "$ERR" "$AWS_ENDPOINT_URL_S3" "the message names the endpoint"
AWS_SECRET_ACCESS_KEY=wrong-secret run_df volume verify "$S3_BASE/$small/x.tar.zst"
assert_eq 6 "$RC" "verify with a wrong secret"
assert_contains "$ERR" "SignatureDoesNotMatch" "verify names the server's error code"

# --- 2. Missing bucket. ---
run_df -c "$M" volume snapshot "$small" -o "s3://no-such-bucket-$$/p"
assert_eq 6 "$RC" "snapshot into a missing bucket"
assert_contains "$ERR" "NoSuchBucket" "the server's error code"
assert_contains "$ERR" "bucket no-such-bucket-$$" "the message names the bucket"
assert_contains "$ERR" "$AWS_ENDPOINT_URL_S3" "the message names the endpoint"
run_df -c "$M" volume list -o "s3://no-such-bucket-$$"
assert_eq 6 "$RC" "list of a missing bucket"
assert_contains "$ERR" "NoSuchBucket" "list names the server's error code"

# --- 2b. Access denied: another user's valid credentials, on this test's bucket. ---
other_key="DFOTHER$$"
other_secret="dfothersecret$$$RANDOM"
timeout 60 radosgw-admin -c "$DOCKFORM_TEST_CEPH_DIR/ceph.conf" --ms-mon-client-mode crc --ms-client-mode crc \
  user create --uid "other-$$" --display-name other --access-key "$other_key" --secret "$other_secret" \
  >"$TEST_TMP/other-user.out" 2>&1 || fail "radosgw-admin user create: $(tail -3 "$TEST_TMP/other-user.out")"
AWS_ACCESS_KEY_ID=$other_key AWS_SECRET_ACCESS_KEY=$other_secret run_df -c "$M" volume snapshot "$small" -o "$S3_BASE"
assert_eq 6 "$RC" "snapshot with credentials that may not use the bucket"
assert_contains "$ERR" "AccessDenied" "the server's error code"
assert_contains "$ERR" "bucket $S3_BUCKET" "the message names the bucket"

# --- 3. Unreachable endpoint (bounded retries). ---
AWS_ENDPOINT_URL_S3=http://127.0.0.1:9 DOCKFORM_S3_MAX_ATTEMPTS=2 run_df -c "$M" volume snapshot "$small" -o "$S3_BASE"
assert_eq 6 "$RC" "snapshot to an unreachable endpoint"
assert_contains "$ERR" "cannot reach" "the message says the endpoint did not answer"
assert_contains "$ERR" "http://127.0.0.1:9" "the message names the endpoint"
assert_eq "" "$(s3_keys)" "no object after the failures above"

# start_snapshot OUTFILE: a snapshot of $big in the background (pid in BG);
# returns once its multipart upload exists and data flows.
start_snapshot() {
  "$DOCKFORM" -c "$M" -v volume snapshot "$big" -o "$S3_BASE" >"$1.out" 2>"$1.err" </dev/null &
  BG=$!
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -n $(s3_uploads) ]] && break
    kill -0 "$BG" 2>/dev/null || fail "the snapshot ended before its upload started: $(cat "$1.err")"
    sleep 0.1
  done
  [[ -n $(s3_uploads) ]] || fail "no multipart upload after 30 s"
  sleep 1
  kill -0 "$BG" 2>/dev/null || fail "the snapshot ended before it could be interrupted: $(cat "$1.err")"
}

# --- 4. SIGINT, then SIGTERM, mid-upload: upload aborted, nothing left. ---
for sig in INT TERM; do
  start_snapshot "$TEST_TMP/$sig"
  kill "-$sig" "$BG"
  rc=0
  wait "$BG" || rc=$?
  [[ $rc != 0 ]] || fail "the snapshot stopped by SIG$sig exited 0"
  assert_contains "$(cat "$TEST_TMP/$sig.err")" "SIG$sig" "the run says SIG$sig stopped it"
  assert_eq "" "$(s3_keys)" "no object after SIG$sig"
  assert_eq "" "$(s3_uploads)" "SIG$sig aborted the multipart upload"
done

# --- 5. SIGKILL mid-upload: no object; a later run aborts the upload once it is old enough. ---
start_snapshot "$TEST_TMP/kill"
kill -KILL "$BG"
wait "$BG" 2>/dev/null || true
left=$(s3_uploads)
[[ -n $left ]] || fail "the killed run's upload should still be listed"
assert_eq "" "$(s3_keys)" "no object after SIGKILL"
run_df -c "$M" volume snapshot "$small" -o "$S3_BASE"
assert_eq 0 "$RC" "a snapshot after the killed run"
assert_contains "$(s3_uploads)" "$left" "an upload younger than 24 h is left alone (it could be a live run's)"
sleep 2
DOCKFORM_S3_ABANDONED_AFTER=1 run_df -c "$M" volume snapshot "$small" -o "$S3_BASE"
assert_eq 0 "$RC" "a snapshot with DOCKFORM_S3_ABANDONED_AFTER=1"
assert_contains "$ERR" "aborted an unfinished upload" "the run says it cleaned up"
assert_eq "" "$(s3_uploads)" "the abandoned upload was aborted"
grep -q "/$big/" <<<"$(s3_keys)" && fail "an object of $big exists after the killed run"

# --- 6. radosgw killed mid-upload (a radosgw of this test's own). ---
s3_private_rgw
export DOCKFORM_S3_MAX_ATTEMPTS=2
start_snapshot "$TEST_TMP/rgw"
kill -KILL "$S3_RGW_PID"
rc=0
wait "$BG" || rc=$?
assert_eq 6 "$rc" "snapshot whose radosgw died (stderr: $(cat "$TEST_TMP/rgw.err"))"
assert_contains "$(cat "$TEST_TMP/rgw.err")" "$AWS_ENDPOINT_URL_S3" "the message names the endpoint"
export AWS_ENDPOINT_URL_S3=$SHARED_ENDPOINT
grep -q "/$big/" <<<"$(s3_keys)" && fail "an object of $big exists after radosgw died"
# Its upload could not be aborted (the server was gone): a later run does it.
sleep 2
DOCKFORM_S3_ABANDONED_AFTER=1 run_df -c "$M" volume snapshot "$small" -o "$S3_BASE"
assert_eq 0 "$RC" "a snapshot once the storage is back"
assert_eq "" "$(s3_uploads)" "the upload left by the failed run was aborted"

# --- 7. radosgw killed mid-restore: the volume is untouched. ---
run_df -c "$M" volume snapshot "$big" -o "$S3_BASE" --json
assert_eq 0 "$RC" "snapshot of $big to the bucket"
snap=$(json_field data_file)
vol_exec "$dst" sh -c 'echo before > /v/marker; mkdir /v/keep; echo k > /v/keep/k'
before=$(tree_listing "$dst")
_s3_stop_private_rgw
s3_private_rgw
"$DOCKFORM" -c "$M" -v volume restore "$dst" "$snap" --force >"$TEST_TMP/restore.out" 2>"$TEST_TMP/restore.err" </dev/null &
BG=$!
for ((i = 0; i < 300; i++)); do
  # The restore's helpers mount the volume once the object has been opened and checked.
  [[ -n $(engine ps -q --filter label=io.dockform.helper --filter "volume=$dst") ]] && break
  kill -0 "$BG" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$BG" 2>/dev/null || fail "the restore ended before radosgw could be killed: $(cat "$TEST_TMP/restore.err")"
kill -KILL "$S3_RGW_PID"
rc=0
wait "$BG" || rc=$?
assert_eq 6 "$rc" "restore whose radosgw died (stderr: $(tail -5 "$TEST_TMP/restore.err"))"
assert_contains "$(cat "$TEST_TMP/restore.err")" "the volume was not changed" "the message says the volume is untouched"
assert_eq "$before" "$(tree_listing "$dst")" "the volume is untouched after radosgw died mid-restore"

pass
