# shellcheck shell=bash
# Remote-looking endpoints for the private engine of engine.sh, on loopback only.
#
# Source this file (after engine.sh), then:
#   dockform_remote_prepare   make a temp folder with TLS certificates (openssl) and
#                             ask engine.sh, through DOCKFORM_ENGINE_EXTRA_ARGS, to
#                             also listen on tcp://127.0.0.1:PORT with --tlsverify.
#                             Call it before dockform_engine_start.
#   dockform_remote_start     after dockform_engine_start: an sshd of our own on
#                             127.0.0.1 (its sessions reach the private engine), an
#                             ssh client config, and a Docker CLI context store made
#                             by `docker context create`.
#   dockform_remote_stop      stop that sshd and delete the folder (idempotent; only
#                             what dockform_remote_* started).
# Exported for the tests (DOCKFORM_TEST_REMOTE_*):
#   TLS_HOST     tcp://127.0.0.1:PORT        TLS_CERTS   ca.pem cert.pem key.pem for it
#   WRONG_CERTS  the same client pair with a CA that did not sign the server
#   SSH_HOST     ssh://dockform-test          SSH_OPTS    "-F <client config>"
#   SSH_URL      ssh://root@127.0.0.1:PORT (uses the same config for keys)
#   DOCKER_CONFIG  a context store: contexts dftls, dfwrongca, dfssh, dfunix

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" # dockform_need_tools, dockform_need_root, dockform_free_port

DOCKFORM_REMOTE_DIR=${DOCKFORM_REMOTE_DIR:-}

_dockform_remote_log() { printf 'remote: %s\n' "$*" >&2; }

# _dockform_remote_cert NAME CA_NAME SUBJECT EXT: a key and a certificate signed by CA_NAME.
_dockform_remote_cert() {
  local d=$DOCKFORM_REMOTE_DIR/pki name=$1 ca=$2 subject=$3 ext=$4
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/$name-key.pem" -out "$d/$name.csr" -subj "$subject" 2>/dev/null 2>>"$d/contexts.log" &&
    printf '%s\n' "$ext" >"$d/$name.ext" &&
    openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca-key.pem" -CAcreateserial \
      -days 2 -out "$d/$name.pem" -extfile "$d/$name.ext" 2>/dev/null
}

_dockform_remote_ca() {
  local d=$DOCKFORM_REMOTE_DIR/pki
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/$1-key.pem" -out "$d/$1.pem" -subj "/CN=$1" 2>/dev/null
}

dockform_remote_prepare() {
  dockform_need_tools _dockform_remote_log openssl sshd ssh ssh-keygen || return 1
  DOCKFORM_REMOTE_DIR=$(mktemp -d /tmp/dfr.XXXXXX) || return 1
  local d=$DOCKFORM_REMOTE_DIR
  mkdir -p "$d/pki" "$d/certs" "$d/wrongca" "$d/ssh" "$d/docker-config"
  _dockform_remote_ca ca && _dockform_remote_ca otherca &&
    _dockform_remote_cert server ca /CN=localhost \
      $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth' &&
    _dockform_remote_cert client ca /CN=dockform-test-client 'extendedKeyUsage=clientAuth' || {
    _dockform_remote_log "openssl could not make the test certificates"
    return 1
  }
  cp "$d/pki/ca.pem" "$d/certs/ca.pem"
  cp "$d/pki/otherca.pem" "$d/wrongca/ca.pem"
  local c
  for c in certs wrongca; do
    cp "$d/pki/client.pem" "$d/$c/cert.pem"
    cp "$d/pki/client-key.pem" "$d/$c/key.pem"
  done
  local port
  port=$(dockform_free_port) || return 1
  echo "$port" >"$d/tls.port"
  local pki=$d/pki
  # Not exported: only this shell's engine listens there; a test that starts an engine of its own must not.
  DOCKFORM_ENGINE_EXTRA_ARGS="--host tcp://127.0.0.1:$port --tlsverify --tlscacert $pki/ca.pem --tlscert $pki/server.pem --tlskey $pki/server-key.pem"
  export DOCKFORM_TEST_REMOTE_TLS_HOST=tcp://127.0.0.1:$port
  export DOCKFORM_TEST_REMOTE_TLS_CERTS=$d/certs
  export DOCKFORM_TEST_REMOTE_WRONG_CERTS=$d/wrongca
}

# sshd as root with its own host key and config; SetEnv points its sessions
# (`docker system dial-stdio`) at the private engine.
_dockform_remote_sshd() {
  local d=$DOCKFORM_REMOTE_DIR port=$1 sshd
  sshd=$(command -v sshd || echo /usr/sbin/sshd)
  ssh-keygen -q -t ed25519 -N '' -f "$d/ssh/host_key" -C dockform-test-host || return 1
  ssh-keygen -q -t ed25519 -N '' -f "$d/ssh/id" -C dockform-test-client || return 1
  cp "$d/ssh/id.pub" "$d/ssh/authorized_keys"
  cat >"$d/ssh/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $d/ssh/host_key
PidFile $d/ssh/sshd.pid
AuthorizedKeysFile $d/ssh/authorized_keys
AllowUsers root
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
SetEnv DOCKER_HOST=$DOCKER_HOST
CFG
  # The privilege separation folder the Debian package normally creates.
  mkdir -p /run/sshd && chmod 755 /run/sshd
  "$sshd" -D -e -f "$d/ssh/sshd_config" </dev/null >"$d/ssh/sshd.log" 2>&1 &
  echo $! >"$d/ssh/sshd.bgpid"
}

_dockform_remote_ssh_client() {
  local d=$DOCKFORM_REMOTE_DIR port=$1 key
  key=$(cut -d' ' -f1-2 "$d/ssh/host_key.pub")
  printf 'dockform-test %s\n[127.0.0.1]:%s %s\n' "$key" "$port" "$key" >"$d/ssh/known_hosts"
  cat >"$d/ssh/config" <<CFG
Host dockform-test
  HostName 127.0.0.1
  Port $port
  User root
Host *
  IdentityFile $d/ssh/id
  IdentitiesOnly yes
  UserKnownHostsFile $d/ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
CFG
  export DOCKFORM_TEST_REMOTE_SSH_OPTS="-F $d/ssh/config"
  export DOCKFORM_TEST_REMOTE_SSH_HOST=ssh://dockform-test
  export DOCKFORM_TEST_REMOTE_SSH_URL=ssh://root@127.0.0.1:$port
}

_dockform_remote_contexts() {
  local d=$DOCKFORM_REMOTE_DIR cfg=$DOCKFORM_REMOTE_DIR/docker-config
  DOCKER_CONFIG=$cfg docker context create dftls --docker \
    "host=$DOCKFORM_TEST_REMOTE_TLS_HOST,ca=$d/certs/ca.pem,cert=$d/certs/cert.pem,key=$d/certs/key.pem" >/dev/null 2>>"$d/contexts.log" &&
    DOCKER_CONFIG=$cfg docker context create dfwrongca --docker \
      "host=$DOCKFORM_TEST_REMOTE_TLS_HOST,ca=$d/wrongca/ca.pem,cert=$d/wrongca/cert.pem,key=$d/wrongca/key.pem" \
      >/dev/null 2>>"$d/contexts.log" &&
    DOCKER_CONFIG=$cfg docker context create dfssh --docker "host=$DOCKFORM_TEST_REMOTE_SSH_HOST" >/dev/null 2>>"$d/contexts.log" &&
    DOCKER_CONFIG=$cfg docker context create dfunix --docker "host=$DOCKER_HOST" >/dev/null 2>>"$d/contexts.log" || { cat "$d/contexts.log" >&2; return 1; }
  export DOCKFORM_TEST_REMOTE_DOCKER_CONFIG=$cfg
}

dockform_remote_start() {
  local d=$DOCKFORM_REMOTE_DIR port i
  [[ -n $d && -d $d ]] || { _dockform_remote_log "call dockform_remote_prepare first"; return 1; }
  [[ ${DOCKER_HOST:-} == unix://* ]] || { _dockform_remote_log "start the private engine first"; return 1; }
  port=$(dockform_free_port) || return 1
  _dockform_remote_sshd "$port" || { _dockform_remote_log "could not start sshd"; return 1; }
  _dockform_remote_ssh_client "$port"
  for ((i = 0; i < 50; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  # shellcheck disable=SC2086 # options are words
  if ! timeout 30 ssh $DOCKFORM_TEST_REMOTE_SSH_OPTS dockform-test docker version >/dev/null 2>"$d/ssh/probe.err"; then
    _dockform_remote_log "sshd on 127.0.0.1:$port does not reach the engine:"
    cat "$d/ssh/probe.err" "$d/ssh/sshd.log" >&2
    return 1
  fi
  _dockform_remote_contexts || { _dockform_remote_log "docker context create failed"; return 1; }
  _dockform_remote_log "sshd on 127.0.0.1:$port and TLS on $DOCKFORM_TEST_REMOTE_TLS_HOST reach the private engine"
}

dockform_remote_stop() {
  local d=${DOCKFORM_REMOTE_DIR:-} pid
  [[ -n $d ]] || return 0
  if [[ $d != /tmp/dfr.* || $d == */../* ]]; then
    _dockform_remote_log "refusing to clean up unexpected folder '$d'"
    return 1
  fi
  # Only our sshd: its command line names our config file.
  for pid in $(cat "$d/ssh/sshd.pid" "$d/ssh/sshd.bgpid" 2>/dev/null | sort -u); do
    [[ $pid =~ ^[0-9]+$ ]] || continue
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$d/ssh/sshd_config" || continue
    dockform_stop_pids "$pid"
  done
  rm -rf "$d"
  DOCKFORM_REMOTE_DIR=""
  unset DOCKFORM_ENGINE_EXTRA_ARGS
}
