# shellcheck shell=bash
# What several files of scripts/lib need; each of them sources this one.

# dockform_free_port: a TCP port on 127.0.0.1 that nothing listens on (a
# connection to it is refused), from 20000 up to the start of the kernel's
# ephemeral range: a port in that range can be the local end of some outgoing
# connection, which nothing can bind then either (dockerd failed to start so).
dockform_free_port() {
  local port i low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 21000)) || low=32768 # a range that starts low: stay below the default one
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % (low - 20000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# dockform_need_tools LOG TOOL...: fails, said through the function LOG, when
# a TOOL is neither on PATH nor in /usr/sbin.
dockform_need_tools() {
  local log=$1 tool
  shift
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$tool ]]; then
      "$log" "'$tool' not found (run scripts/install-deps)"
      return 1
    fi
  done
}

# dockform_need_root LOG WHAT: fails, said through LOG, unless run as root.
dockform_need_root() {
  if ((EUID != 0)); then
    "$1" "$2 needs root"
    return 1
  fi
}

# dockform_stop_pids PID...: SIGTERM to each, then SIGKILL to any still there
# after 5 s; reaps the ones that are this shell's children.
dockform_stop_pids() {
  local pid i
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
