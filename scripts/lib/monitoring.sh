# shellcheck shell=bash
# A private Prometheus node_exporter (textfile collector only) and Pushgateway
# on loopback, for the notification tests. Debian's prometheus-node-exporter
# and prometheus-pushgateway packages.
#
# Source this file, then:
#   dockform_monitoring_start  start both on free ports, wait until they answer,
#                              and export the settings below
#   dockform_monitoring_stop   stop what the start started and delete its folder
#                              (idempotent, safe from an EXIT/INT/TERM trap)
#
# Exported after a start:
#   DOCKFORM_TEST_TEXTFILE_DIR        the folder node_exporter's textfile collector reads
#   DOCKFORM_TEST_NODE_EXPORTER_URL   http://127.0.0.1:PORT (its /metrics serves the textfiles)
#   DOCKFORM_TEST_PUSHGATEWAY_URL     http://127.0.0.1:PORT (in memory: nothing persists)
#
# Everything lives in one `mktemp -d` folder; stop signals only the two
# processes the start launched.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" # dockform_need_tools, dockform_free_port, dockform_stop_pids

DOCKFORM_MONITORING_DIR=""
DOCKFORM_MONITORING_PIDS=()

_dockform_monitoring_log() { printf 'monitoring: %s\n' "$*" >&2; }

_dockform_monitoring_wait() { # URL NAME LOG: until URL answers, 30 s at most
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      _dockform_monitoring_log "$2 did not answer at $1 within 30 s; its log:"
      tail -n 20 "$3" >&2
      return 1
    fi
    sleep 0.1
  done
}

dockform_monitoring_start() {
  local ne_port pg_port
  dockform_need_tools _dockform_monitoring_log curl prometheus-node-exporter prometheus-pushgateway || return 1
  DOCKFORM_MONITORING_DIR=$(mktemp -d /tmp/dfm.XXXXXX)
  mkdir "$DOCKFORM_MONITORING_DIR/textfile"
  ne_port=$(dockform_free_port) && pg_port=$(dockform_free_port) || return 1
  prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" --collector.disable-defaults \
    --collector.textfile --collector.textfile.directory="$DOCKFORM_MONITORING_DIR/textfile" \
    >"$DOCKFORM_MONITORING_DIR/node_exporter.log" 2>&1 &
  DOCKFORM_MONITORING_PIDS+=($!)
  prometheus-pushgateway --web.listen-address="127.0.0.1:$pg_port" --persistence.file="" \
    >"$DOCKFORM_MONITORING_DIR/pushgateway.log" 2>&1 &
  DOCKFORM_MONITORING_PIDS+=($!)
  _dockform_monitoring_wait "http://127.0.0.1:$ne_port/metrics" node_exporter \
    "$DOCKFORM_MONITORING_DIR/node_exporter.log" || return 1
  _dockform_monitoring_wait "http://127.0.0.1:$pg_port/metrics" "the Pushgateway" \
    "$DOCKFORM_MONITORING_DIR/pushgateway.log" || return 1
  export DOCKFORM_TEST_TEXTFILE_DIR=$DOCKFORM_MONITORING_DIR/textfile
  export DOCKFORM_TEST_NODE_EXPORTER_URL=http://127.0.0.1:$ne_port
  export DOCKFORM_TEST_PUSHGATEWAY_URL=http://127.0.0.1:$pg_port
  _dockform_monitoring_log "node_exporter at $DOCKFORM_TEST_NODE_EXPORTER_URL, Pushgateway at $DOCKFORM_TEST_PUSHGATEWAY_URL"
}

dockform_monitoring_stop() {
  ((${#DOCKFORM_MONITORING_PIDS[@]} == 0)) || dockform_stop_pids "${DOCKFORM_MONITORING_PIDS[@]}"
  DOCKFORM_MONITORING_PIDS=()
  if [[ -n $DOCKFORM_MONITORING_DIR && -d $DOCKFORM_MONITORING_DIR ]]; then
    rm -rf "$DOCKFORM_MONITORING_DIR"
  fi
  DOCKFORM_MONITORING_DIR=""
  unset DOCKFORM_TEST_TEXTFILE_DIR DOCKFORM_TEST_NODE_EXPORTER_URL DOCKFORM_TEST_PUSHGATEWAY_URL
}
