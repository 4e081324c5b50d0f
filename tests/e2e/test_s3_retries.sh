#!/usr/bin/env bash
# stages: sanitize
# Retried S3 requests, against a real Ceph radosgw behind a loopback relay
# (s3_relay.py) that loses the server's answer to the first
# CompleteMultipartUpload: the server completed the upload, the connection
# closes without an answer, and the request sent again (by libcurl, as the
# connection was a reused one) is refused with 404 NoSuchUpload (by the relay,
# as AWS S3 does once the upload's record is gone; this RGW accepted a repeat
# that came at once). The object the store shows, with this run's size and
# multipart ETag, is the snapshot: exit 0, the data object and its sidecar,
# and a restore gives the same tree. And a bad DOCKFORM_S3_ABANDONED_AFTER (not a whole
# number of seconds) fails the snapshot with exit 2 before anything is
# uploaded or aborted.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"
need_tools python3

src=${PFX}src
dst=${PFX}dst
manifest_and_volumes s3retries "$src" "$dst"
# Random data a little over one 8 MiB part (kS3PartSize): a two-part upload,
# whose ETag is the md5 of the parts' md5s with "-2".
vol_exec "$src" sh -c 'dd if=/dev/urandom of=/v/random bs=1M count=9 2>/dev/null &&
  mkdir /v/d && echo hello > /v/d/a && chmod 640 /v/d/a' || fail "filling $src"
want=$(tree_listing "$src")

# --- 1. The answer to the completion is lost. ---
upstream_port=${AWS_ENDPOINT_URL_S3##*:}
relay_port=$(dockform_free_port) || fail "no free TCP port on 127.0.0.1 for the relay"
python3 "$(dirname "${BASH_SOURCE[0]}")/s3_relay.py" "$upstream_port" "$relay_port" "$TEST_TMP/relay.log" \
  >"$TEST_TMP/relay.out" 2>&1 </dev/null &
_BACKGROUND_PIDS+=("$!") # ended by lib.sh's exit handler
for ((i = 0; i < 100; i++)); do
  grep -q listening "$TEST_TMP/relay.log" 2>/dev/null && break
  sleep 0.1
done
grep -q listening "$TEST_TMP/relay.log" 2>/dev/null || fail "the relay did not start: $(cat "$TEST_TMP/relay.out")"

AWS_ENDPOINT_URL_S3=http://127.0.0.1:$relay_port run_df -c "$M" -v volume snapshot "$src" -o "$S3_BASE" --json
assert_contains "$(cat "$TEST_TMP/relay.log")" "dropped the response to POST /$S3_BUCKET/$S3_PREFIX/$src/" \
  "the relay lost the answer to the completion"
assert_contains "$(cat "$TEST_TMP/relay.log")" "answered the repeat POST /$S3_BUCKET/$S3_PREFIX/$src/" \
  "the repeated completion was refused"
assert_eq 0 "$RC" "a snapshot whose completion was retried after a lost answer"
assert_contains "$ERR" "the store shows it completed" "the run says why it took the upload as completed"
snap=$(json_field data_file)
stem=${snap##*/}
stem=${stem%.tar.zst}
assert_eq "$(printf '%s\n' "$S3_PREFIX/$src/$stem.json" "$S3_PREFIX/$src/$stem.tar.zst")" "$(s3_keys)" \
  "the bucket holds the data object and its sidecar"
assert_eq "" "$(s3_uploads)" "no multipart upload is left"
etag=$(s3_curl HEAD "/$S3_PREFIX/$src/$stem.tar.zst" -I | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: *//p')
[[ $etag == *-2\" ]] || fail "the object is a two-part upload: ETag $etag"

run_df volume verify "$snap" --json
assert_eq 0 "$RC" "verify of the snapshot"
assert_eq "true" "$(json_field ok)" "verify --json ok"
run_df -c "$M" volume restore "$dst" "$snap" --json
assert_eq 0 "$RC" "restore from the snapshot"
assert_eq "true" "$(json_field checksum_verified)" "the restore checked the sidecar's checksum"
assert_eq "$want" "$(tree_listing "$dst")" "the restored tree is the source's"

# --- 2. A bad DOCKFORM_S3_ABANDONED_AFTER: exit 2, nothing uploaded or aborted. ---
# A live run's upload, a second old: any age that reads as 0 would abort it.
live_key=$S3_PREFIX/$src/live.tar.zst
live_id=$(s3_curl POST "/$live_key?uploads=" | grep -o '<UploadId>[^<]*</UploadId>' | sed 's/<[^>]*>//g')
[[ -n $live_id ]] || fail "cannot start a multipart upload of $live_key"
sleep 1.1
keys=$(s3_keys)
for bad in abc -5 10x 1.5 " 60" 99999999999999999999; do
  DOCKFORM_S3_ABANDONED_AFTER=$bad run_df -c "$M" volume snapshot "$src" -o "$S3_BASE"
  assert_eq 2 "$RC" "a snapshot with DOCKFORM_S3_ABANDONED_AFTER='$bad'"
  assert_contains "$ERR" "DOCKFORM_S3_ABANDONED_AFTER" "the message names the variable ('$bad')"
  assert_contains "$ERR" "whole number of seconds" "the message says what is expected ('$bad')"
  assert_eq "$live_key" "$(s3_uploads)" "the live upload is left alone ('$bad')"
  assert_eq "$keys" "$(s3_keys)" "nothing was uploaded ('$bad')"
done
DOCKFORM_S3_ABANDONED_AFTER=86400 run_df -c "$M" volume snapshot "$src" -o "$S3_BASE"
assert_eq 0 "$RC" "a snapshot with DOCKFORM_S3_ABANDONED_AFTER=86400"
assert_eq "$live_key" "$(s3_uploads)" "an upload younger than a day is left alone"
s3_curl DELETE "/$live_key?uploadId=$live_id" -f -o /dev/null || fail "cannot abort the upload of $live_key"

pass
