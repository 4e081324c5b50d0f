# shellcheck shell=bash
# A private single-node Ceph cluster with an S3 endpoint (radosgw), for tests
# and benchmarks. Debian's ceph-mon, ceph-osd, radosgw and ceph-common packages.
#
# Source this file, then:
#   dockform_ceph_start   start one mon, one memstore osd and one radosgw on
#                         loopback ports, create an S3 user and a bucket, and
#                         export the S3 settings below
#   dockform_ceph_start_background, then dockform_ceph_wait
#                         the same, while the caller does other work (the
#                         settings are exported by dockform_ceph_wait)
#   dockform_ceph_stop    stop what dockform_ceph_start started and delete its
#                         folder (idempotent, safe from an EXIT/INT/TERM trap)
#
# Exported after a start:
#   AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL_S3
#   DOCKFORM_TEST_S3_BUCKET   a bucket made for the tests
#   DOCKFORM_TEST_CEPH_DIR    the cluster's folder (ceph.conf: fault tests start
#                             a radosgw of their own on it)
#
# Everything lives in one `mktemp -d` folder; ports are free ones picked at
# random. Every daemon started is recorded in the folder's `pids` file, and
# stop signals only those: a cluster the machine or another test run owns is
# never touched.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" # dockform_need_tools, dockform_need_root, dockform_free_port

DOCKFORM_CEPH_DIR=""
DOCKFORM_CEPH_BG_PID=""

_dockform_ceph_log() { printf 'ceph: %s\n' "$*" >&2; }

_dockform_ceph_write_conf() {
  local dir=$1 fsid=$2 mon_port=$3 rgw_port=$4
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
mon data = $dir/mon/\$name
osd data = $dir/osd/\$name
osd objectstore = memstore
memstore device bytes = 4294967296
osd memory target = 1073741824
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw dns name = 127.0.0.1
EOF
}

# Waits up to $2 seconds for command "$1" (a string run with eval) to succeed.
_dockform_ceph_wait() {
  local cmd=$1 seconds=$2 i
  for ((i = 0; i < seconds * 5; i++)); do
    eval "$cmd" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

_dockform_ceph_crc=(--ms-mon-client-mode crc --ms-client-mode crc)

# Starts "$@" in the background, its output to log file $1 (then shifted off),
# and records its pid for dockform_ceph_stop.
_dockform_ceph_daemon() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 </dev/null &
  echo $! >>"$DOCKFORM_CEPH_DIR/pids"
}

_dockform_ceph_start_rgw() {
  local dir=$DOCKFORM_CEPH_DIR
  _dockform_ceph_daemon "$dir/log/rgw.out" radosgw -c "$dir/ceph.conf" -n client.rgw -f "${_dockform_ceph_crc[@]}"
  if ! _dockform_ceph_wait "curl -s -o /dev/null $AWS_ENDPOINT_URL_S3" 60; then
    _dockform_ceph_log "radosgw did not answer on $AWS_ENDPOINT_URL_S3; log: $dir/log/client.rgw.log"
    return 1
  fi
}

dockform_ceph_start() {
  DOCKFORM_CEPH_DIR=$(mktemp -d /tmp/dfc.XXXXXX)
  _dockform_ceph_start_in "$DOCKFORM_CEPH_DIR"
}

# The folder is made here, the cluster is started by a background shell whose
# settings dockform_ceph_wait reads back: a trap can stop it at any point.
dockform_ceph_start_background() {
  DOCKFORM_CEPH_DIR=$(mktemp -d /tmp/dfc.XXXXXX)
  (
    trap - EXIT INT TERM
    _dockform_ceph_start_in "$DOCKFORM_CEPH_DIR" >"$DOCKFORM_CEPH_DIR/start.out" 2>&1
  ) &
  DOCKFORM_CEPH_BG_PID=$!
}

dockform_ceph_wait() {
  local rc=0
  wait "$DOCKFORM_CEPH_BG_PID" || rc=$?
  DOCKFORM_CEPH_BG_PID=""
  cat "$DOCKFORM_CEPH_DIR/start.out" >&2
  ((rc == 0)) || return "$rc"
  # shellcheck source=/dev/null
  source "$DOCKFORM_CEPH_DIR/env"
}

_dockform_ceph_start_in() {
  local dir=$1 fsid mon_port rgw_port started=$SECONDS
  DOCKFORM_CEPH_DIR=$dir
  export DOCKFORM_TEST_CEPH_DIR=$dir
  : >"$dir/pids"
  mkdir -p "$dir/run" "$dir/log" "$dir/mon/mon.a" "$dir/osd/osd.0" "$dir/rgw"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(dockform_free_port)
  rgw_port=$(dockform_free_port)
  _dockform_ceph_write_conf "$dir" "$fsid" "$mon_port" "$rgw_port"
  local conf=(-c "$dir/ceph.conf")

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon "${conf[@]}" --mkfs -i a --monmap "$dir/monmap" >"$dir/log/mkfs.out" 2>&1 || {
    _dockform_ceph_log "ceph-mon --mkfs failed: $(cat "$dir/log/mkfs.out")"
    return 1
  }
  _dockform_ceph_daemon "$dir/log/mon.out" ceph-mon "${conf[@]}" -i a -f
  if ! _dockform_ceph_wait "timeout 5 ceph ${conf[*]} ${_dockform_ceph_crc[*]} mon stat" 30; then
    _dockform_ceph_log "the mon did not answer; log: $dir/log/mon.a.log"
    return 1
  fi
  local osd_id
  osd_id=$(timeout 20 ceph "${conf[@]}" osd create)
  ceph-osd "${conf[@]}" -i "$osd_id" --mkfs >"$dir/log/osd-mkfs.out" 2>&1 || {
    _dockform_ceph_log "ceph-osd --mkfs failed: $(tail -5 "$dir/log/osd-mkfs.out")"
    return 1
  }
  _dockform_ceph_daemon "$dir/log/osd.out" ceph-osd "${conf[@]}" -i "$osd_id" -f
  timeout 20 ceph "${conf[@]}" osd crush add "osd.$osd_id" 1.0 host=localhost >/dev/null 2>&1
  timeout 20 ceph "${conf[@]}" osd crush move localhost root=default >/dev/null 2>&1
  if ! _dockform_ceph_wait "timeout 5 ceph ${conf[*]} osd stat | grep -q '1 up'" 60; then
    _dockform_ceph_log "the osd did not come up; log: $dir/log/osd.$osd_id.log"
    return 1
  fi

  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$rgw_port"
  export AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID="DFTEST$RANDOM$RANDOM"
  export AWS_SECRET_ACCESS_KEY="dftestsecret$RANDOM$RANDOM$RANDOM"
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_ENDPOINT_URL
  _dockform_ceph_start_rgw || return 1
  timeout 60 radosgw-admin "${conf[@]}" "${_dockform_ceph_crc[@]}" user create --uid dockform-test \
    --display-name dockform-test --access-key "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" \
    >"$dir/log/user.out" 2>&1 || {
    _dockform_ceph_log "radosgw-admin user create failed: $(tail -5 "$dir/log/user.out")"
    return 1
  }
  export DOCKFORM_TEST_S3_BUCKET=dockform-test
  dockform_ceph_make_bucket "$DOCKFORM_TEST_S3_BUCKET" || return 1
  local name
  for name in AWS_ENDPOINT_URL_S3 AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY DOCKFORM_TEST_S3_BUCKET \
    DOCKFORM_TEST_CEPH_DIR; do
    printf 'export %s=%q\n' "$name" "${!name}"
  done >"$dir/env"
  echo "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_ENDPOINT_URL" >>"$dir/env"
  _dockform_ceph_log "up in $((SECONDS - started)) s: $AWS_ENDPOINT_URL_S3 bucket $DOCKFORM_TEST_S3_BUCKET ($dir)"
}

# Creates bucket $1 with the exported credentials.
dockform_ceph_make_bucket() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    "$AWS_ENDPOINT_URL_S3/$1")
  [[ $code == 200 ]] || {
    _dockform_ceph_log "creating bucket $1 answered HTTP $code"
    return 1
  }
}

dockform_ceph_stop() {
  local pids=()
  [[ -n $DOCKFORM_CEPH_DIR ]] || return 0
  # A start still running in the background first, so that it starts nothing more.
  if [[ -n $DOCKFORM_CEPH_BG_PID ]]; then
    kill -KILL "$DOCKFORM_CEPH_BG_PID" 2>/dev/null || true
    wait "$DOCKFORM_CEPH_BG_PID" 2>/dev/null || true
    DOCKFORM_CEPH_BG_PID=""
  fi
  [[ -f $DOCKFORM_CEPH_DIR/pids ]] && mapfile -t pids <"$DOCKFORM_CEPH_DIR/pids"
  ((${#pids[@]} == 0)) || dockform_stop_pids "${pids[@]}"
  if [[ -n $DOCKFORM_CEPH_DIR && -d $DOCKFORM_CEPH_DIR ]]; then
    rm -rf "$DOCKFORM_CEPH_DIR"
  fi
  DOCKFORM_CEPH_DIR=""
}
