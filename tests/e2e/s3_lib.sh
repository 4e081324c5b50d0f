# shellcheck shell=bash
# Sourced (after lib.sh) by the tests that use object storage. scripts/test
# starts a private Ceph radosgw (scripts/lib/ceph.sh) and exports
#   AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL_S3
#   DOCKFORM_TEST_S3_BUCKET DOCKFORM_TEST_CEPH_DIR
# A test run without them fails: nothing is skipped silently.
#
# Gives each test S3_PREFIX, a key prefix of its own in the bucket, and S3_BASE
# (s3://BUCKET/PREFIX).

for _v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL_S3 DOCKFORM_TEST_S3_BUCKET; do
  [[ -n ${!_v:-} ]] || fail "$_v is not set (scripts/test starts a Ceph radosgw and exports it)"
done
command -v curl >/dev/null || fail "curl is needed (run scripts/install-deps)"
: "${AWS_REGION:=us-east-1}"
export AWS_REGION
unset AWS_PROFILE AWS_SESSION_TOKEN

# shellcheck source=../../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh" # dockform_free_port

S3_BUCKET=$DOCKFORM_TEST_S3_BUCKET
S3_PREFIX="${TEST_NAME}-$$"
S3_BASE="s3://$S3_BUCKET/$S3_PREFIX"

# s3_curl METHOD PATH [curl args...]: a signed request to the test endpoint;
# PATH starts after the bucket ("" for the bucket itself).
s3_curl() {
  local method=$1 path=$2
  shift 2
  curl -s -X "$method" --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    "$@" "$AWS_ENDPOINT_URL_S3/$S3_BUCKET$path"
}

# s3_keys [PREFIX]: the object keys under PREFIX (default S3_PREFIX/), one a line, sorted.
s3_keys() {
  local prefix=${1:-$S3_PREFIX/}
  s3_curl GET "?list-type=2&prefix=${prefix//\//%2F}" | grep -o '<Key>[^<]*</Key>' |
    sed 's/<Key>//; s/<\/Key>//' | sort || true
}

# s3_uploads [PREFIX]: keys of the unfinished multipart uploads under PREFIX.
s3_uploads() {
  local prefix=${1:-$S3_PREFIX/}
  s3_curl GET "?prefix=${prefix//\//%2F}&uploads=" | grep -o '<Key>[^<]*</Key>' |
    sed 's/<Key>//; s/<\/Key>//' | sort || true
}

# s3_fetch KEY FILE: downloads an object.
s3_fetch() {
  s3_curl GET "/$1" -o "$2" -f || fail "cannot download $1"
}

# s3_private_rgw: starts a radosgw of this test's own on the shared cluster
# (another free port) and points AWS_ENDPOINT_URL_S3 at it, so that a fault
# test can kill it without disturbing the tests running beside it. Sets
# S3_RGW_PID; the radosgw is stopped when the test exits.
S3_RGW_PID=""
s3_private_rgw() {
  local port
  port=$(dockform_free_port) || fail "no free TCP port on 127.0.0.1 for a private radosgw"
  radosgw -c "$DOCKFORM_TEST_CEPH_DIR/ceph.conf" -n client.rgw -f --ms-mon-client-mode crc --ms-client-mode crc \
    --rgw-frontends "beast endpoint=127.0.0.1:$port" --pid-file "$TEST_TMP/rgw.pid" \
    --admin-socket "$TEST_TMP/rgw.asok" --log-file "$TEST_TMP/rgw.log" >"$TEST_TMP/rgw.out" 2>&1 </dev/null &
  S3_RGW_PID=$!
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"
  for ((i = 0; i < 300; i++)); do
    curl -s -o /dev/null --max-time 2 "$AWS_ENDPOINT_URL_S3" && return 0
    kill -0 "$S3_RGW_PID" 2>/dev/null || break
    sleep 0.2
  done
  fail "the test's radosgw did not answer on $AWS_ENDPOINT_URL_S3: $(tail -5 "$TEST_TMP/rgw.out")"
}

_s3_stop_private_rgw() {
  [[ -n $S3_RGW_PID ]] || return 0
  kill -KILL "$S3_RGW_PID" 2>/dev/null || true
  wait "$S3_RGW_PID" 2>/dev/null || true
  S3_RGW_PID=""
}
# lib.sh's exit trap, with the private radosgw stopped first (the status kept).
trap '_s3_rc=$?; _s3_stop_private_rgw; (exit $_s3_rc); _on_exit' EXIT
