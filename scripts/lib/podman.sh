# shellcheck shell=bash
# A private Podman API service for tests: the second engine dockform is tested on.
#
# Source this file, then:
#   dockform_podman_start   start `podman system service` on a private socket,
#                           export DOCKER_HOST to it and DOCKFORM_TEST_ENGINE=podman
#   dockform_podman_stop    remove its containers, stop it and every process it
#                           started, delete its folder (idempotent, safe in a trap)
#
# Everything it owns lives in one folder made by `mktemp -d` (/tmp/dfp.XXXXXX, or
# under DOCKFORM_PODMAN_PARENT, e.g. a benchmark's fresh filesystem image):
#   p.sock           the API socket          service.log  the service's log
#   storage.conf     CONTAINERS_STORAGE_CONF: vfs, graph root and run root below
#   containers.conf  CONTAINERS_CONF (see _dockform_podman_conf)
#   graph/ run/ tmp/ volumes/ net/  storage, run state, locks, volumes, networks
# The service runs with CONTAINERS_CONF and CONTAINERS_STORAGE_CONF pointing into
# the folder, so it never reads or writes the machine's own Podman storage. Stop
# only acts on processes whose command line names the folder (the service,
# conmon, runc) and on their descendants (container processes are conmon's).

# shellcheck source=engine.sh
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh" # _dockform_engine_alive, _dockform_engine_starttime

DOCKFORM_PODMAN_DIR=${DOCKFORM_PODMAN_DIR:-}
DOCKFORM_PODMAN_PID=${DOCKFORM_PODMAN_PID:-}
DOCKFORM_PODMAN_SAVED_DOCKER_HOST=${DOCKFORM_PODMAN_SAVED_DOCKER_HOST:-__unset__}

_dockform_podman_log() { printf 'podman: %s\n' "$*" >&2; }

# The remote client of the private service.
_dockform_podman() { podman --url "unix://$DOCKFORM_PODMAN_DIR/p.sock" "$@"; }

# Writes the two configuration files into folder $1.
_dockform_podman_conf() {
  local dir=$1
  cat >"$dir/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$dir/graph"
runroot = "$dir/run"
EOF
  # runc, not crun: crun refuses this machine's hybrid cgroup layout. runc cannot
  # raise the open-files and process limits to Podman's defaults ("error setting
  # rlimit type 6: operation not permitted"), hence explicit default_ulimits.
  # File locks in tmp/ instead of the machine-wide /dev/shm/libpod_lock segment.
  cat >"$dir/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
lock_type = "file"
tmp_dir = "$dir/tmp"
image_copy_tmp_dir = "$dir/tmp"
volume_path = "$dir/volumes"
static_dir = "$dir/graph/libpod"

[network]
network_config_dir = "$dir/net"
EOF
}

dockform_podman_start() {
  if [[ -n $DOCKFORM_PODMAN_DIR && -d $DOCKFORM_PODMAN_DIR ]]; then
    _dockform_podman_log "a private Podman service is already running in $DOCKFORM_PODMAN_DIR"
    return 1
  fi
  dockform_need_tools _dockform_podman_log podman conmon runc curl timeout setsid || return 1
  dockform_need_root _dockform_podman_log "starting a private Podman service" || return 1
  local dir
  dir=$(mktemp -d "${DOCKFORM_PODMAN_PARENT:-/tmp}/dfp.XXXXXX") || return 1
  DOCKFORM_PODMAN_DIR=$dir
  mkdir -p "$dir/graph" "$dir/run" "$dir/tmp" "$dir/volumes" "$dir/net"
  _dockform_podman_conf "$dir"
  DOCKFORM_PODMAN_SAVED_DOCKER_HOST=${DOCKER_HOST-__unset__}

  # --time=0: never exit for idleness. setsid as for dockerd (engine.sh).
  # TMPDIR too: an image made through the compat API (POST /images/create with
  # fromSrc, as dockform makes its helper image) leaves its upload behind as
  # api_load.tar* in the temporary folder (Podman's bug, podman#28531): in
  # the private folder it goes with the folder.
  TMPDIR=$dir/tmp CONTAINERS_CONF=$dir/containers.conf CONTAINERS_STORAGE_CONF=$dir/storage.conf \
    setsid -w podman system service --time=0 "unix://$dir/p.sock" \
    </dev/null >"$dir/service.log" 2>&1 &
  DOCKFORM_PODMAN_PID=$!

  local ok=0 deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    # /_ping, not `podman version`: Podman's /version asks dpkg about conmon
    # and runc, which takes seconds.
    if [[ -S $dir/p.sock ]] && timeout -k 2 5 curl -sf --unix-socket "$dir/p.sock" http://d/_ping >/dev/null 2>&1; then
      ok=1
      break
    fi
    if ! _dockform_engine_alive "$DOCKFORM_PODMAN_PID"; then
      break
    fi
    sleep 0.5
  done
  if ((ok != 1)); then
    _dockform_podman_log "the Podman service did not answer; last lines of $dir/service.log:"
    tail -n 40 "$dir/service.log" >&2 || true
    dockform_podman_stop || true
    return 1
  fi
  export DOCKER_HOST=unix://$dir/p.sock
  export DOCKFORM_TEST_ENGINE=podman
  # The engine it replaces as DOCKER_HOST (the private dockerd), for tests that use both.
  [[ $DOCKFORM_PODMAN_SAVED_DOCKER_HOST == __unset__ ]] || export DOCKFORM_TEST_DOCKERD_HOST=$DOCKFORM_PODMAN_SAVED_DOCKER_HOST
  unset DOCKER_CONTEXT
  _dockform_podman_log "private Podman service $DOCKFORM_PODMAN_PID answers at $DOCKER_HOST"
}

# Pids of the processes of folder $1: those whose command line names a path in
# it (the service, conmon, runc) and all their descendants.
_dockform_podman_pids() {
  local dir=$1 p pid stat ppid changed=1
  local -a args
  local -A mine=() parent=()
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [[ $pid == "$$" || $pid == "${BASHPID:-}" ]] && continue
    read -r stat 2>/dev/null <"$p/stat" || continue
    stat=${stat##*) }
    ppid=${stat#* }
    parent[$pid]=${ppid%% *}
    mapfile -d '' -t args 2>/dev/null <"$p/cmdline" || continue
    ((${#args[@]} > 0)) || continue
    [[ "${args[*]}" == *"$dir/"* ]] || continue
    case ${args[0]##*/} in
      podman | conmon | runc) mine[$pid]=1 ;;
    esac
  done
  while ((changed)); do
    changed=0
    for pid in "${!parent[@]}"; do
      if [[ -z ${mine[$pid]:-} && -n ${mine[${parent[$pid]}]:-} ]]; then
        mine[$pid]=1
        changed=1
      fi
    done
  done
  ((${#mine[@]} == 0)) || printf '%s\n' "${!mine[@]}"
}

# Signals $1 (TERM or KILL) to the recorded processes still alive (same start
# time: a reused pid is left alone); returns 1 when none was left.
declare -gA _DFP_TRACKED=()
_dockform_podman_signal() {
  local sig=$1 pid st any=1
  for pid in "${!_DFP_TRACKED[@]}"; do
    st=$(_dockform_engine_starttime "$pid")
    if [[ -n $st && $st == "${_DFP_TRACKED[$pid]}" ]] && _dockform_engine_alive "$pid"; then
      [[ $sig == none ]] || kill "-$sig" "$pid" 2>/dev/null || true
      any=0
    else
      unset "_DFP_TRACKED[$pid]"
    fi
  done
  return "$any"
}

_dockform_podman_track() {
  local pid
  for pid in $(_dockform_podman_pids "$1"); do
    [[ -n ${_DFP_TRACKED[$pid]:-} ]] || _DFP_TRACKED[$pid]=$(_dockform_engine_starttime "$pid")
  done
}

# Waits up to $1 seconds for every recorded process to be gone.
_dockform_podman_wait_gone() {
  local i
  for ((i = 0; i < $1 * 5; i++)); do
    _dockform_podman_signal none || return 0
    sleep 0.2
  done
  ! _dockform_podman_signal none
}

dockform_podman_stop() {
  local dir=${DOCKFORM_PODMAN_DIR:-}
  [[ -n $dir ]] || return 0
  if [[ $dir != /* || ${dir##*/} != dfp.* || $dir == */../* ]]; then
    _dockform_podman_log "refusing to stop a Podman service in unexpected folder '$dir'"
    return 1
  fi
  _DFP_TRACKED=()
  _dockform_podman_track "$dir"
  # Containers outlive the service (conmon is not its child): remove them first.
  if [[ -S $dir/p.sock ]]; then
    timeout -k 2 30 podman --url "unix://$dir/p.sock" rm -a -f -t 0 >/dev/null 2>&1 || true
  fi
  _dockform_podman_track "$dir"
  _dockform_podman_signal TERM || true
  if ! _dockform_podman_wait_gone 10; then
    _dockform_podman_signal KILL || true
    _dockform_podman_wait_gone 5 || _dockform_podman_log "processes still running: ${!_DFP_TRACKED[*]}"
  fi
  if [[ -n ${DOCKFORM_PODMAN_PID:-} ]]; then
    wait "$DOCKFORM_PODMAN_PID" 2>/dev/null || true
  fi
  _DFP_TRACKED=()

  # Container /dev/shm mounts live in the graph root: unmount, deepest first.
  local mp i
  local -a mounts
  for i in 1 2 3; do
    mapfile -t mounts < <(awk -v d="$dir" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r -u)
    ((${#mounts[@]} == 0)) && break
    for mp in "${mounts[@]}"; do
      mp=$(printf '%b' "$mp")
      umount -R "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
    done
  done
  if awk -v d="$dir" 'index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    _dockform_podman_log "mounts remain under $dir; not deleting it"
  else
    rm -rf --one-file-system "$dir" 2>/dev/null || rm -rf "$dir" 2>/dev/null ||
      _dockform_podman_log "could not delete $dir"
  fi

  if [[ ${DOCKER_HOST:-} == "unix://$dir/p.sock" ]]; then
    if [[ ${DOCKFORM_PODMAN_SAVED_DOCKER_HOST:-__unset__} == __unset__ ]]; then
      unset DOCKER_HOST
    else
      export DOCKER_HOST=$DOCKFORM_PODMAN_SAVED_DOCKER_HOST
    fi
    unset DOCKFORM_TEST_ENGINE
  fi
  DOCKFORM_PODMAN_DIR=""
  DOCKFORM_PODMAN_PID=""
  _dockform_podman_log "private Podman service in $dir stopped"
}
