# shellcheck shell=bash
# A private Docker Engine for tests and demos.
#
# Source this file, then:
#   dockform_engine_start      start a private dockerd, export DOCKER_HOST to it
#   dockform_engine_stop       stop it and delete everything it left (idempotent,
#                              safe to call from an EXIT/INT/TERM trap)
#   dockform_engine_restart    stop that dockerd gracefully (SIGTERM, as a service
#                              restart does) and start it again on the same folder
#                              and socket: containers, volumes and images persist
#   dockform_engine_reachable  0 when DOCKER_HOST (or /var/run/docker.sock when
#                              DOCKER_HOST is unset) answers `docker version` in 5 s
#
# Everything the private engine owns lives in one folder made by `mktemp -d`
# (/tmp/dfe.XXXXXX, short because unix socket paths are limited to 107 bytes):
#   d.sock  the API socket       dockerd.pid  its pid file    dockerd.log  its log
#   data/   --data-root          exec/        --exec-root     daemon.json  an empty config
# Stop only ever acts on processes whose command line names that folder, and on
# their descendants: an engine the machine already runs is never touched.
# Opt-in: DOCKFORM_ENGINE_EXTRA_ARGS (white-space separated words) is appended to
# dockerd's command line, e.g. a tcp listener with --tlsverify (scripts/lib/remote.sh).
# Opt-in: DOCKFORM_ENGINE_DATA_ROOT (an existing, empty folder, e.g. a freshly
# mounted filesystem image: scripts/bench) is the --data-root instead of data/;
# the stop unmounts what the engine left mounted under it but deletes nothing
# there (the caller owns it).

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" # dockform_need_tools, dockform_need_root, dockform_free_port

# State of the engine started by this shell. Deliberately not exported: a child
# process must never stop its parent's engine.
DOCKFORM_ENGINE_DIR=${DOCKFORM_ENGINE_DIR:-}
DOCKFORM_ENGINE_PID=${DOCKFORM_ENGINE_PID:-}
DOCKFORM_ENGINE_SAVED_DOCKER_HOST=${DOCKFORM_ENGINE_SAVED_DOCKER_HOST:-__unset__}
DOCKFORM_ENGINE_DATA=${DOCKFORM_ENGINE_DATA:-} # the --data-root of the engine started here

_dockform_engine_log() { printf 'engine: %s\n' "$*" >&2; }

# True when process $1 exists and is not a zombie.
_dockform_engine_alive() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat=${stat##*) }
  [[ -n $stat && $stat != Z* && $stat != X* ]]
}

# Pids of the processes that belong to the engine whose folder is $1: dockerd,
# containerd, shims, runc... (their command line names a path inside the folder),
# and every descendant of those (container processes are children of the shims).
_dockform_engine_pids() {
  local dir=$1 p pid cmd stat ppid changed=1
  local -a args
  local -A mine=() parent=()
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [[ $pid == "$$" || $pid == "${BASHPID:-}" ]] && continue
    read -r stat 2>/dev/null <"$p/stat" || continue
    stat=${stat##*) } # the fields after "(comm) "
    ppid=${stat#* }
    parent[$pid]=${ppid%% *}
    mapfile -d '' -t args 2>/dev/null <"$p/cmdline" || continue
    ((${#args[@]} > 0)) || continue
    cmd="${args[*]}"
    case $cmd in
      *"$dir/"*)
        case ${cmd%% *} in
          */dockerd | dockerd | */containerd | containerd | *containerd-shim* | */runc | runc | *docker-proxy | *docker-init)
            mine[$pid]=1
            ;;
        esac
        ;;
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

# The start time (clock ticks after boot) of process $1, to tell it from a later
# process that reuses its pid; empty when it is gone.
_dockform_engine_starttime() {
  local stat
  local -a f
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
  read -r -a f <<<"${stat##*) }"
  echo "${f[19]:-}"
}

# Records the engine processes of folder $1 in _DFE_TRACKED (pid -> start time)
# and sets _DFE_LIVE to the recorded ones still alive. Recording matters: once a
# shim is gone, its container process is re-parented and no longer looks like ours.
declare -gA _DFE_TRACKED=()
declare -ga _DFE_LIVE=()
_dockform_engine_live() {
  local dir=$1 pid st
  for pid in $(_dockform_engine_pids "$dir"); do
    [[ -n ${_DFE_TRACKED[$pid]:-} ]] || _DFE_TRACKED[$pid]=$(_dockform_engine_starttime "$pid")
  done
  _DFE_LIVE=()
  for pid in "${!_DFE_TRACKED[@]}"; do
    st=$(_dockform_engine_starttime "$pid")
    if [[ -n $st && $st == "${_DFE_TRACKED[$pid]}" ]] && _dockform_engine_alive "$pid"; then
      _DFE_LIVE+=("$pid")
    else
      unset "_DFE_TRACKED[$pid]"
    fi
  done
}

# Waits up to $1 seconds for the engine processes of folder $2 to be gone.
_dockform_engine_wait_gone() {
  local secs=$1 dir=$2 i
  for ((i = 0; i < secs * 5; i++)); do
    _dockform_engine_live "$dir"
    ((${#_DFE_LIVE[@]} == 0)) && return 0
    sleep 0.2
  done
  _dockform_engine_live "$dir"
  ((${#_DFE_LIVE[@]} == 0))
}

# Starts dockerd in the background on folder $1 (log appended to its
# dockerd.log) and sets DOCKFORM_ENGINE_PID. setsid: a Ctrl-C in the terminal
# reaches the scripts' traps, which stop the engine in order, rather than the
# daemon directly. -w keeps $! alive as long as dockerd even where setsid has
# to fork (under job control).
_dockform_engine_launch() {
  local dir=$1
  local -a extra=()
  read -r -a extra <<<"${DOCKFORM_ENGINE_EXTRA_ARGS:-}"
  setsid -w dockerd \
    "${extra[@]}" \
    --config-file "$dir/daemon.json" \
    --data-root "${DOCKFORM_ENGINE_DATA:-$dir/data}" \
    --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" \
    --host "unix://$dir/d.sock" \
    --storage-driver vfs \
    --iptables=false \
    --ip-masq=false \
    --bridge=none \
    </dev/null >>"$dir/dockerd.log" 2>&1 &
  DOCKFORM_ENGINE_PID=$!
}

dockform_engine_reachable() {
  local host=${DOCKER_HOST:-}
  if [[ -z $host ]]; then
    [[ -S /var/run/docker.sock ]] || return 1
    host=unix:///var/run/docker.sock
  fi
  timeout -k 2 5 docker -H "$host" version >/dev/null 2>&1
}

dockform_engine_start() {
  if [[ -n $DOCKFORM_ENGINE_DIR && -d $DOCKFORM_ENGINE_DIR ]]; then
    _dockform_engine_log "a private engine is already running in $DOCKFORM_ENGINE_DIR"
    return 1
  fi
  dockform_need_tools _dockform_engine_log dockerd containerd docker timeout setsid || return 1
  dockform_need_root _dockform_engine_log "starting a private dockerd" || return 1

  local data_root=${DOCKFORM_ENGINE_DATA_ROOT:-}
  if [[ -n $data_root && ! -d $data_root ]]; then
    _dockform_engine_log "DOCKFORM_ENGINE_DATA_ROOT '$data_root' is not a folder"
    return 1
  fi
  local dir
  dir=$(mktemp -d /tmp/dfe.XXXXXX) || return 1
  DOCKFORM_ENGINE_DIR=$dir
  DOCKFORM_ENGINE_DATA=$data_root
  mkdir -p "$dir/data" "$dir/exec"
  # An explicit empty config keeps /etc/docker/daemon.json out of the way.
  echo '{}' >"$dir/daemon.json"
  DOCKFORM_ENGINE_SAVED_DOCKER_HOST=${DOCKER_HOST-__unset__}

  _dockform_engine_launch "$dir"

  local ok=0 deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if [[ -S $dir/d.sock ]] &&
      timeout -k 2 5 docker -H "unix://$dir/d.sock" version >/dev/null 2>&1; then
      ok=1
      break
    fi
    if ! _dockform_engine_alive "$DOCKFORM_ENGINE_PID" && [[ ! -s $dir/dockerd.pid ]]; then
      ok=2 # exited
      break
    fi
    sleep 0.5
  done
  if ((ok != 1)); then
    if ((ok == 2)); then
      _dockform_engine_log "dockerd exited at start; last lines of $dir/dockerd.log:"
    else
      _dockform_engine_log "dockerd did not answer within 60 s; last lines of $dir/dockerd.log:"
    fi
    tail -n 40 "$dir/dockerd.log" >&2 || true
    dockform_engine_stop || true
    return 1
  fi

  export DOCKER_HOST=unix://$dir/d.sock
  unset DOCKER_CONTEXT
  _dockform_engine_log "private dockerd $(cat "$dir/dockerd.pid" 2>/dev/null) answers at $DOCKER_HOST"
  return 0
}

# Unmounts every mount point at or under folder $1 (with a trailing slash:
# strictly under it), deepest first, three passes at most.
_dockform_engine_unmount_under() {
  local d=${1%/} strict=0 mp i
  local -a mounts
  [[ $1 == */ ]] && strict=1
  for i in 1 2 3; do
    mapfile -t mounts < <(awk -v d="$d" -v s="$strict" '(!s && $5 == d) || index($5, d "/") == 1 { print $5 }' \
      /proc/self/mountinfo | sort -r -u)
    ((${#mounts[@]} == 0)) && break
    for mp in "${mounts[@]}"; do
      mp=$(printf '%b' "$mp") # mountinfo escapes spaces etc. as \040
      umount -R "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
    done
  done
}

dockform_engine_stop() {
  local dir=${DOCKFORM_ENGINE_DIR:-}
  [[ -n $dir ]] || return 0
  # Refuse anything that does not look like a folder made by dockform_engine_start.
  if [[ $dir != /tmp/dfe.* || $dir == */../* ]]; then
    _dockform_engine_log "refusing to stop an engine in unexpected folder '$dir'"
    return 1
  fi

  local pid="" p i
  if [[ -s $dir/dockerd.pid ]]; then
    pid=$(cat "$dir/dockerd.pid" 2>/dev/null) || pid=""
  fi
  [[ $pid =~ ^[0-9]+$ ]] || pid=${DOCKFORM_ENGINE_PID:-}
  # Only signal it if it is still our dockerd (the pid may have been reused).
  if [[ $pid =~ ^[0-9]+$ ]] && _dockform_engine_alive "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      _dockform_engine_alive "$pid" || break
      sleep 0.2
    done
    if _dockform_engine_alive "$pid"; then
      _dockform_engine_log "dockerd $pid still running after 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Reap the background job if it was ours, so it does not linger as a zombie.
  if [[ -n ${DOCKFORM_ENGINE_PID:-} ]]; then
    wait "$DOCKFORM_ENGINE_PID" 2>/dev/null || true
  fi

  # dockerd stops the containerd it started on a clean exit; anything left over
  # (containerd, shims, container processes) gets SIGTERM, then SIGKILL. (A
  # container's init ignores SIGTERM from outside its pid namespace unless it
  # handles it: SIGKILL is what ends those.)
  _DFE_TRACKED=()
  if ! _dockform_engine_wait_gone 10 "$dir"; then
    for p in "${_DFE_LIVE[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    if ! _dockform_engine_wait_gone 5 "$dir"; then
      for p in "${_DFE_LIVE[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
      _dockform_engine_wait_gone 5 "$dir" ||
        _dockform_engine_log "processes still running: ${_DFE_LIVE[*]}"
    fi
  fi
  _DFE_TRACKED=()

  # Unmount whatever is still mounted in the folder (and under an outside
  # data root, not the root itself), deepest first.
  _dockform_engine_unmount_under "$dir"
  [[ -n ${DOCKFORM_ENGINE_DATA:-} ]] && _dockform_engine_unmount_under "${DOCKFORM_ENGINE_DATA%/}/"

  if awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' \
    /proc/self/mountinfo; then
    _dockform_engine_log "mounts remain under $dir; not deleting it"
  else
    rm -rf --one-file-system "$dir" 2>/dev/null || rm -rf "$dir" 2>/dev/null ||
      _dockform_engine_log "could not delete $dir"
  fi

  # Give the environment back as it was before the start.
  if [[ ${DOCKER_HOST:-} == "unix://$dir/d.sock" ]]; then
    if [[ ${DOCKFORM_ENGINE_SAVED_DOCKER_HOST:-__unset__} == __unset__ ]]; then
      unset DOCKER_HOST
    else
      export DOCKER_HOST=$DOCKFORM_ENGINE_SAVED_DOCKER_HOST
    fi
  fi
  DOCKFORM_ENGINE_DIR=""
  DOCKFORM_ENGINE_PID=""
  DOCKFORM_ENGINE_DATA=""
  _dockform_engine_log "private engine in $dir stopped"
  return 0
}

# Restarts the engine started by dockform_engine_start: SIGTERM to dockerd
# (which stops its containers), wait until every engine process is gone, then
# a new dockerd on the same folder, socket and flags. DOCKER_HOST is unchanged.
dockform_engine_restart() {
  local dir=${DOCKFORM_ENGINE_DIR:-} pid="" i
  if [[ -z $dir || $dir != /tmp/dfe.* || ! -d $dir ]]; then
    _dockform_engine_log "no private engine to restart"
    return 1
  fi
  [[ -s $dir/dockerd.pid ]] && pid=$(cat "$dir/dockerd.pid" 2>/dev/null)
  if [[ $pid =~ ^[0-9]+$ ]] && _dockform_engine_alive "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
      _dockform_engine_alive "$pid" || break
      sleep 0.2
    done
  fi
  [[ -n ${DOCKFORM_ENGINE_PID:-} ]] && { wait "$DOCKFORM_ENGINE_PID" 2>/dev/null || true; }
  _DFE_TRACKED=()
  _dockform_engine_wait_gone 30 "$dir" || {
    _dockform_engine_log "engine processes still running after the stop: ${_DFE_LIVE[*]}"
    return 1
  }
  rm -f "$dir/dockerd.pid"
  _dockform_engine_launch "$dir"
  for ((i = 0; i < 120; i++)); do
    if [[ -S $dir/d.sock ]] && timeout -k 2 5 docker -H "unix://$dir/d.sock" version >/dev/null 2>&1; then
      _dockform_engine_log "private dockerd $(cat "$dir/dockerd.pid" 2>/dev/null) restarted at unix://$dir/d.sock"
      return 0
    fi
    sleep 0.5
  done
  _dockform_engine_log "dockerd did not answer within 60 s of its restart; last lines of $dir/dockerd.log:"
  tail -n 40 "$dir/dockerd.log" >&2 || true
  return 1
}
