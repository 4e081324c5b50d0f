#!/usr/bin/env bash
# stages: sanitize
# slow
# Notifications of the commands cron runs: healthchecks-style pings, webhooks
# (JSON, Slack, Discord, ntfy), Prometheus metrics in a textfile (checked with
# promtool and scraped by a real node_exporter) and pushed to a real
# Pushgateway, and `volume list --max-age`. Every endpoint is on loopback: a
# recording receiver (http_receiver.py) started here, and the node_exporter and
# Pushgateway that scripts/test starts for the run (scripts/lib/monitoring.sh;
# run alone, the test starts its own). A notification that fails is a warning:
# it never changes the run's exit code.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools python3 curl promtool

HOST=$(hostname)
A=${PFX}a B=${PFX}b C=${PFX}c
PROJ=$TEST_TMP/proj
write_manifest "$PROJ" "$PFX" "$A" "$B" "$C"
SNAPS=$TEST_TMP/snaps
mkdir -p "$SNAPS"
engine volume create "$A" >/dev/null
engine volume create "$C" >/dev/null
vol_exec "$A" sh -c 'echo one >/v/one; echo two >/v/two; mkdir /v/d; echo three >/v/d/three'
# B is declared but missing from the engine: its snapshot fails.

# ---- the services ------------------------------------------------------------
# shellcheck source=../../scripts/lib/monitoring.sh
source "$(dirname "$0")/../../scripts/lib/monitoring.sh"
PROM=""
on_fault_exit() { # at exit (fault_trap): this test's textfile, the services it started itself
  [[ -z $PROM ]] || rm -f "$PROM" "$PROM".*
  dockform_monitoring_stop
}
fault_trap
if [[ -z ${DOCKFORM_TEST_PUSHGATEWAY_URL:-} ]]; then
  dockform_monitoring_start || fail "node_exporter and the Pushgateway did not start"
fi
NE=$DOCKFORM_TEST_NODE_EXPORTER_URL
PG=$DOCKFORM_TEST_PUSHGATEWAY_URL
# The collector's folder is the run's: this test's file is named for the test, and removed.
PROM=$DOCKFORM_TEST_TEXTFILE_DIR/dockform-$PFX.prom
LOG=$TEST_TMP/requests.jsonl
: >"$LOG"
python3 "$(dirname "$0")/http_receiver.py" "$LOG" "$TEST_TMP/port" &
_BACKGROUND_PIDS+=($!)
deadline=$((SECONDS + 30))
until [[ -s $TEST_TMP/port ]]; do
  ((SECONDS < deadline)) || fail "the receiver did not start"
  sleep 0.1
done
R=http://127.0.0.1:$(<"$TEST_TMP/port")
deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null "$R/ready" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the receiver did not answer at $R within 30 s"
  sleep 0.1
done
: >"$LOG"

# requests [PATH-PREFIX]: "METHOD PATH" of each request received, in order.
requests() {
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"].startswith(sys.argv[2]): print(r["method"], r["path"])' "$LOG" "${1:-/}"
}
# request_field N PATH-PREFIX FIELD: a field (body, headers.NAME) of the Nth request to PATH-PREFIX.
request_field() {
  python3 -c 'import json,sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if r["path"].startswith(sys.argv[2])]
v = rs[int(sys.argv[3])]
for k in sys.argv[4].split("."): v = v[k]
print(v)' "$LOG" "$2" "$1" "$3"
}
metric() { # FILE-OR-TEXT NAME VOLUME: the value of NAME{volume="VOLUME"} (nothing when absent)
  awk -v want="$2{volume=\"$3\"}" '$1 == want { print $2 }' <<<"$1"
}

cd "$PROJ"

# ---- 1. a successful snapshot reports to every target ------------------------
run_df volume snapshot "$A" -o "$SNAPS" --json --ping "$R/ping/uuid-1" --webhook "$R/hook/generic" \
  --webhook-on always --metrics-file "$PROM" --metrics-push "$PG"
assert_eq 0 "$RC" "snapshot with notifications"
assert_eq $'POST /ping/uuid-1/start\nPOST /ping/uuid-1/0' "$(requests /ping/)" "the ping's start and end"
body=$(request_field 0 /ping/uuid-1/0 body)
assert_contains "$body" "dockform volume snapshot on $HOST: ok" "the ping's summary"
assert_contains "$body" "volume $A: ok" "the ping's summary names the volume"
hook=$(request_field 0 /hook/generic body)
assert_eq "application/json" "$(request_field 0 /hook/generic headers.content-type)" "webhook content type"
sidecar=$(json_field sidecar_file)
checksum=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checksum"])' "$sidecar")
assert_eq "snapshot|0|True|$HOST|$A|$checksum" "$(python3 -c 'import json,sys
d = json.loads(sys.argv[1])
print("|".join(str(x) for x in (d["command"], d["exit_code"], d["ok"], d["host"], d["result"]["volume"], d["result"]["sidecar"]["checksum"])))' "$hook")" "the webhook's JSON document"
assert_eq "ping_start ping webhook metrics_file metrics_push|True" "$(python3 -c 'import json,sys
n = json.loads(sys.argv[1])["notifications"]
print(" ".join(x["target"] for x in n) + "|" + str(all(x["ok"] for x in n)))' "$OUT")" "--json lists each notification"
promtool check metrics <"$PROM" || fail "promtool check metrics refused $PROM: $(cat "$PROM")"
text=$(<"$PROM")
assert_eq 1 "$(metric "$text" dockform_snapshot_success "$A")" "success in the textfile"
assert_eq "$(stat -c %s "$(json_field data_file)")" "$(metric "$text" dockform_snapshot_stored_bytes "$A")" "stored bytes"
assert_eq "$(json_field sidecar.file_count)" "$(metric "$text" dockform_snapshot_files "$A")" "files"
assert_eq "$(json_field sidecar.uncompressed_bytes)" "$(metric "$text" dockform_snapshot_tar_bytes "$A")" "tar bytes"
first_success=$(metric "$text" dockform_snapshot_last_success_timestamp_seconds "$A")
now=$(date +%s)
((first_success <= now && first_success > now - 120)) || fail "last success timestamp $first_success (now $now)"
assert_contains "$(stat -c %a "$PROM")" "644" "the textfile is readable by node_exporter"
scraped=$(curl -fsS "$NE/metrics")
assert_contains "$scraped" "dockform_snapshot_success{volume=\"$A\"} 1" "node_exporter serves the textfile"
assert_contains "$scraped" "node_textfile_scrape_error 0" "node_exporter read the textfile without error"
pushed=$(curl -fsS "$PG/metrics")
assert_contains "$pushed" "dockform_snapshot_success{instance=\"$HOST\",job=\"dockform\",volume=\"$A\"} 1" \
  "the Pushgateway holds the pushed series"

# ---- 2. failures: the exit code is the command's, the last success stays -----
: >"$LOG"
sleep 1 # a later run's timestamps differ from the first's
run_df volume snapshot "$B" -o "$SNAPS" --ping "$R/ping/uuid-2" --webhook "$R/hook/fail" \
  --metrics-file "$PROM" --metrics-push "$PG"
assert_eq 1 "$RC" "snapshot of a missing volume, with notifications"
assert_eq $'POST /ping/uuid-2/start\nPOST /ping/uuid-2/1' "$(requests /ping/)" "a failed run pings URL/1"
assert_contains "$(request_field 0 /ping/uuid-2/1 body)" "FAILED (exit 1)" "the failed ping's summary"
assert_contains "$(request_field 0 /ping/uuid-2/1 body)" "volume $B: FAILED" "the failed ping names the volume"
hook=$(request_field 0 /hook/fail body)
assert_eq "1|False|$B|False" "$(python3 -c 'import json,sys
d = json.loads(sys.argv[1])
print("|".join(str(x) for x in (d["exit_code"], d["ok"], d["volumes"][0]["volume"], d["volumes"][0]["ok"])))' "$hook")" \
  "the failed run's webhook (webhook-on failure by default)"
assert_contains "$hook" "not found" "the webhook carries the error"
text=$(<"$PROM")
assert_eq 0 "$(metric "$text" dockform_snapshot_success "$B")" "B failed"
assert_eq "" "$(metric "$text" dockform_snapshot_last_success_timestamp_seconds "$B")" "B never succeeded"
assert_eq "$first_success" "$(metric "$text" dockform_snapshot_last_success_timestamp_seconds "$A")" \
  "A's series are untouched by B's run"
promtool check metrics <"$PROM" || fail "promtool refused the textfile after a failure"
# A fails too (its snapshot folder cannot be made): its last success stays, success becomes 0.
touch "$TEST_TMP/a-file"
run_df volume snapshot "$A" -o "$TEST_TMP/a-file/sub" --metrics-file "$PROM" --metrics-push "$PG"
assert_eq 1 "$RC" "snapshot into a folder that cannot be made"
text=$(<"$PROM")
assert_eq 0 "$(metric "$text" dockform_snapshot_success "$A")" "A's failed run"
assert_eq "$first_success" "$(metric "$text" dockform_snapshot_last_success_timestamp_seconds "$A")" \
  "A's last success survives its failed run"
pushed=$(curl -fsS "$PG/metrics")
assert_contains "$pushed" "dockform_snapshot_success{instance=\"$HOST\",job=\"dockform\",volume=\"$B\"} 0" "pushed: B"
# The gateway prints large values in exponent form (1.796573279e+09).
pushed_value=$(awk -v want="dockform_snapshot_last_success_timestamp_seconds{instance=\"$HOST\",job=\"dockform\",volume=\"$A\"}" \
  '$1 == want { printf "%.0f\n", $2 }' <<<"$pushed")
assert_eq "$first_success" "$pushed_value" "pushed: A's last success kept through the Pushgateway"

# ---- 3. webhook-on failure (the default) posts nothing for a success --------
: >"$LOG"
run_df volume snapshot "$A" -o "$SNAPS" --webhook "$R/hook/quiet"
assert_eq 0 "$RC" "snapshot with a webhook for failures"
assert_eq "" "$(requests /hook/)" "a success posts no webhook by default"

# ---- 4. chat services' bodies, chosen by the URL's scheme --------------------
: >"$LOG"
run_df volume snapshot "$A" -o "$SNAPS" --webhook-on always --webhook "slack+$R/slack/T0/B0/x" \
  --webhook "discord+$R/discord/123/abc" --webhook "ntfy+$R/ntfy/backups"
assert_eq 0 "$RC" "snapshot with chat webhooks"
assert_eq "dockform volume snapshot on $HOST: ok" \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert list(d)==["text"]; print(d["text"].splitlines()[0])' \
    "$(request_field 0 /slack/ body)")" "Slack: {\"text\": ...}"
assert_eq "dockform volume snapshot on $HOST: ok" \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert list(d)==["content"] and len(d["content"])<=2000; print(d["content"].splitlines()[0])' \
    "$(request_field 0 /discord/ body)")" "Discord: {\"content\": ...}"
assert_eq "dockform snapshot ok on $HOST" "$(request_field 0 /ntfy/backups headers.title)" "ntfy: the Title header"
assert_contains "$(request_field 0 /ntfy/backups body)" "volume $A: ok" "ntfy: a plain-text body"
assert_contains "$(request_field 0 /ntfy/backups headers.content-type)" "text/plain" "ntfy: text/plain"

# ---- 5. dead, failing and flaky endpoints; credentials never shown ----------
: >"$LOG"
dead=$(dockform_free_port) # monitoring.sh sources scripts/lib/common.sh
run_df volume snapshot "$A" -o "$SNAPS" --json --ping "http://backup:s3cret@127.0.0.1:$dead/ping?token=t0ken" \
  --webhook "$R/fail500/h" --webhook "$R/flaky/h" --webhook-on always
assert_eq 0 "$RC" "failed notifications never fail the snapshot"
assert_contains "$ERR" "notification not delivered" "a warning for each failed notification"
assert_not_contains "$ERR$OUT" "s3cret" "the URL's password is masked"
assert_not_contains "$ERR$OUT" "t0ken" "the URL's query is masked"
assert_eq 3 "$(requests /fail500/ | wc -l)" "a 500 is tried three times"
assert_eq 2 "$(requests /flaky/ | wc -l)" "a 500 then 200 is tried twice"
assert_eq "ping_start:False ping:False webhook:False webhook:True" "$(python3 -c 'import json,sys
print(" ".join("%s:%s" % (x["target"], x["ok"]) for x in json.loads(sys.argv[1])["notifications"]))' "$OUT")" \
  "--json says which notification failed"

# ---- 6. from the environment and from the manifest --------------------------
: >"$LOG"
DOCKFORM_PING_URL=$R/ping/env run_df volume snapshot "$A" -o "$SNAPS"
assert_eq 0 "$RC" "snapshot with DOCKFORM_PING_URL"
assert_eq $'POST /ping/env/start\nPOST /ping/env/0' "$(requests /ping/env)" "DOCKFORM_PING_URL"
cat >>"$PROJ/dockform.yml" <<YAML
notifications:
  ping: $R/ping/manifest
  webhooks: ["$R/hook/manifest"]
  webhook_on: always
  metrics_file: $TEST_TMP/manifest.prom
YAML
run_df volume snapshot "$A" -o "$SNAPS"
assert_eq 0 "$RC" "snapshot with the manifest's notifications"
assert_eq $'POST /ping/manifest/start\nPOST /ping/manifest/0' "$(requests /ping/manifest)" "manifest ping"
assert_eq "POST /hook/manifest" "$(requests /hook/manifest)" "manifest webhook"
assert_eq 1 "$(metric "$(<"$TEST_TMP/manifest.prom")" dockform_snapshot_success "$A")" "manifest metrics file"
run_df volume snapshot "$A" -o "$SNAPS" --ping "$R/ping/flag"
assert_eq $'POST /ping/flag/start\nPOST /ping/flag/0' "$(requests /ping/flag)" "the flag takes precedence"
assert_eq 2 "$(requests /ping/manifest | wc -l)" "the manifest's ping unused when the flag is given"
write_manifest "$PROJ" "$PFX" "$A" "$B" "$C"

# ---- 7. restore and prune metrics -------------------------------------------
data=$(ls "$SNAPS/$A"/*.tar.zst | tail -n 1)
run_df volume restore "$C" "$data" --metrics-file "$PROM" --ping "$R/ping/restore"
assert_eq 0 "$RC" "restore with notifications"
assert_eq $'POST /ping/restore/start\nPOST /ping/restore/0' "$(requests /ping/restore)" "restore pings"
text=$(<"$PROM")
assert_eq 1 "$(metric "$text" dockform_restore_success "$C")" "restore success"
assert_eq "$(stat -c %s "$data")" "$(metric "$text" dockform_restore_stored_bytes "$C")" "restore read bytes"
count=$(ls "$SNAPS/$A"/*.tar.zst | wc -l)
run_df volume prune "$A" -o "$SNAPS" --keep-last 1 --metrics-file "$PROM" --webhook "$R/hook/prune" --webhook-on always
assert_eq 0 "$RC" "prune with notifications"
text=$(<"$PROM")
assert_eq $((count - 1)) "$(metric "$text" dockform_prune_removed_snapshots "$A")" "prune removed"
assert_eq 1 "$(metric "$text" dockform_prune_kept_snapshots "$A")" "prune kept"
assert_eq prune "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["command"])' \
  "$(request_field 0 /hook/prune body)")" "prune's webhook"
promtool check metrics <"$PROM" || fail "promtool refused the textfile with restore and prune series"
assert_eq 1 "$(metric "$text" dockform_snapshot_success "$B" | wc -l)" "snapshot series kept beside the others"

# ---- 8. bad flags ------------------------------------------------------------
run_df volume snapshot "$A" -o "$SNAPS" --ping "ftp://example/x"
assert_eq 2 "$RC" "a ping URL that is not http(s)"
run_df volume snapshot "$A" -o "$SNAPS" --webhook-on sometimes
assert_eq 2 "$RC" "--webhook-on takes failure or always"

# ---- 9. volume list --max-age -----------------------------------------------
run_df volume list "$A" -o "$SNAPS" --max-age 1h
assert_eq 0 "$RC" "a snapshot younger than 1h"
sleep 2
run_df volume list "$A" -o "$SNAPS" --max-age 1s --json
assert_eq 7 "$RC" "a snapshot older than 1s"
assert_contains "$ERR" "volume $A: the newest snapshot" "the stale volume is named"
assert_eq "true" "$(json_field max_age.volumes.0.stale)" "--json: stale"
run_df volume list -o "$SNAPS" --max-age 26h --json
assert_eq 7 "$RC" "a declared volume without a snapshot"
assert_contains "$ERR" "volume $B: no snapshot" "the volume without a snapshot is named"
assert_eq "$A:False $B:True $C:True" "$(python3 -c 'import json,sys
print(" ".join("%s:%s" % (v["volume"], v["stale"]) for v in json.loads(sys.argv[1])["max_age"]["volumes"]))' "$OUT")" \
  "--json says it per volume"
run_df volume list -o "$SNAPS" --max-age 5x
assert_eq 2 "$RC" "a bad duration"

# ---- 10. SIGTERM (a stopped systemd service) still sends the final ping ------
run_user "${PFX}app" "$A" --label 'io.dockform.snapshot.pre=touch /data/.hook-started; sleep 60'
"$DOCKFORM" volume snapshot "$A" -o "$SNAPS" --ping "$R/ping/term" >"$TEST_TMP/term.out" 2>"$TEST_TMP/term.err" &
df_pid=$!
deadline=$((SECONDS + 60))
until [[ -n $(requests /ping/term/start) ]] && vol_exec "$A" test -e /v/.hook-started 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the snapshot's pre hook did not start"
  sleep 0.2
done
kill -TERM "$df_pid"
rc=0
wait "$df_pid" || rc=$?
assert_eq 1 "$rc" "the snapshot ended by SIGTERM"
assert_eq $'POST /ping/term/start\nPOST /ping/term/1' "$(requests /ping/term)" "the final ping after SIGTERM"
assert_contains "$(request_field 0 /ping/term/1 body)" "interrupted by SIGTERM" "the summary says why"

pass
