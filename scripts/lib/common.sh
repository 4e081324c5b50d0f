# shellcheck shell=bash
# What several files of scripts/lib need; each of them sources this one.

# dockform_free_port: a TCP port on 127.0.0.1, in 20000-59999, that nothing
# listens on (a connection to it is refused).
dockform_free_port() {
  local port i
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
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
