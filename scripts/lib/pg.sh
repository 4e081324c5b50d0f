# shellcheck shell=bash
# A PostgreSQL 15 data directory for the benchmarks (Debian's postgresql-15),
# run as the postgres user on a private socket folder and port. Sourced by
# scripts/bench and scripts/bench-repo; they set PGBIN, and call pg_cleanup
# from their exit trap. Needs dockform_free_port (common.sh).
PG_DIR="" PG_RUNNING="" PG_PORT=""
pg_ctl_() { runuser -u postgres -- "$PGBIN/pg_ctl" "$@"; }
pg_start() {
  PG_RUNNING=$1
  pg_ctl_ -D "$1" -l "$PG_DIR/server.log" -w -o "-k $PG_DIR -p $PG_PORT -c listen_addresses=''" start >/dev/null
}
pg_stop() {
  pg_ctl_ -D "$PG_RUNNING" -m fast -w stop >/dev/null
  PG_RUNNING=""
}
pg_run() { runuser -u postgres -- "$PGBIN/$1" -h "$PG_DIR" -p "$PG_PORT" "${@:2}"; }
# The PostgreSQL 15 data directory, made once (on the host's filesystem, then
# copied into a volume): initdb --data-checksums, pgbench -i -s 20, 10 s of
# pgbench, a clean stop.
pg_make() {
  PG_DIR=$(mktemp -d /var/tmp/dfpg.XXXXXX)
  chown postgres: "$PG_DIR"
  PG_PORT=$(dockform_free_port)
  runuser -u postgres -- "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PG_DIR/data" >"$PG_DIR/initdb.log"
  pg_start "$PG_DIR/data"
  pg_run pgbench -i -q -s 20 postgres >"$PG_DIR/pgbench.log" 2>&1
  pg_run pgbench -T 10 postgres >>"$PG_DIR/pgbench.log" 2>&1
  pg_stop
  PG_TPS=$(grep -o 'tps = [0-9.]*' "$PG_DIR/pgbench.log" | tail -1)
}
# pg_check DIR: a copy of DIR passes pg_checksums --check and starts; sets
# PG_CHECK to what was found.
pg_check() {
  local copy=$PG_DIR/check owner rows
  rm -rf "$copy"
  cp -a "$1" "$copy"
  owner=$(stat -c '%U %a' "$copy")
  if runuser -u postgres -- "$PGBIN/pg_checksums" --check -D "$copy" >"$PG_DIR/checksums.log" 2>&1; then
    PG_CHECK="pg_checksums --check passed ($(grep -o 'Blocks scanned: *[0-9]*' "$PG_DIR/checksums.log" | tr -s ' '))"
  else
    PG_CHECK="pg_checksums --check FAILED: $(tail -1 "$PG_DIR/checksums.log")"
  fi
  if pg_start "$copy"; then
    rows=$(pg_run psql -Atc 'select count(*) from pgbench_accounts' postgres)
    pg_stop
    PG_CHECK+=", the server started (data directory: $owner) and counted $rows pgbench_accounts rows"
  else
    PG_CHECK+=", the server did NOT start (data directory: $owner; $PG_DIR/server.log): $(tail -1 "$PG_DIR/server.log")"
  fi
  rm -rf "$copy"
}
# Stops a server left running and removes the data made by pg_make.
pg_cleanup() {
  if [[ -n $PG_RUNNING ]]; then pg_ctl_ -D "$PG_RUNNING" -m immediate -w stop >/dev/null 2>&1 || true; fi
  if [[ $PG_DIR == /var/tmp/dfpg.* ]]; then rm -rf "$PG_DIR"; fi
}
