#!/usr/bin/env bash
# volume snapshot when things go wrong or get in the way: a missing volume, a
# helper image that cannot be pulled, two concurrent runs, containers using the
# volume (--stop-containers), and --all with a declared volume that does not
# exist. (SIGINT/SIGTERM: test_snapshot_interrupt.sh.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools python3 zstd


# files_under DIR: every file below DIR (empty when DIR does not exist)
# verify_pair DATA_FILE: the sidecar beside it agrees with sha256sum and zstd -t.
verify_pair() {
  local data=$1 side=${1%.tar.zst}.json
  assert_file_exists "$side" "sidecar of $data"
  assert_eq "$(sha256sum <"$data" | cut -c1-64)" "$(json_field checksum.tar_zst "$side")" "sha256sum of $data vs its sidecar"
  zstd -q -t "$data" || fail "zstd -t rejects $data"
}

proj=$TEST_TMP/proj
vol=${PFX}data
write_manifest "$proj" failures "$vol" "${PFX}other"
engine volume create "$vol" >/dev/null
vol_exec "$vol" sh -c 'mkdir /v/d && echo hello > /v/d/f && echo x > /v/top'

# ---------------------------------------------------------------- missing volume
run_df -c "$proj" volume snapshot "${PFX}missing"
[[ $RC != 0 ]] || fail "snapshot of a volume that does not exist succeeded"
assert_contains "$ERR" "not found in the engine, and the manifest does not declare it" "error for a missing volume"
assert_contains "$ERR" "${PFX}missing" "error names the missing volume"
assert_eq "" "$(files_under "$proj/.dockform")" "files written for a missing volume"

# ---------------------------------------------------------------- helper image that cannot be pulled
run_df -c "$proj" --helper-image does-not/exist:1 volume snapshot "$vol"
[[ $RC != 0 ]] || fail "snapshot with an unavailable helper image succeeded"
for word in does-not/exist:1 --helper-image DOCKFORM_HELPER_IMAGE docker.helper_image; do
  assert_contains "$ERR" "$word" "error for an unavailable helper image"
done
assert_eq "" "$(files_under "$proj/.dockform")" "files written with an unavailable helper image"

# ---------------------------------------------------------------- two concurrent snapshots
conc=$TEST_TMP/conc
"$DOCKFORM" -c "$proj" volume snapshot "$vol" -o "$conc" >"$TEST_TMP/c1.out" 2>"$TEST_TMP/c1.err" </dev/null &
p1=$!
"$DOCKFORM" -c "$proj" volume snapshot "$vol" -o "$conc" >"$TEST_TMP/c2.out" 2>"$TEST_TMP/c2.err" </dev/null &
p2=$!
rc1=0 rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
assert_eq 0 "$rc1" "first of two concurrent snapshots ($(cat "$TEST_TMP/c1.err"))"
assert_eq 0 "$rc2" "second of two concurrent snapshots ($(cat "$TEST_TMP/c2.err"))"
mapfile -t datas < <(find "$conc/$vol" -name '*.tar.zst' | sort)
assert_eq 2 "${#datas[@]}" "data files after two concurrent snapshots ($(ls -A "$conc/$vol"))"
[[ ${datas[0]} != "${datas[1]}" ]] || fail "concurrent snapshots share a name"
assert_eq 4 "$(find "$conc/$vol" -mindepth 1 | wc -l)" "entries after two concurrent snapshots (two pairs, no temporaries): $(ls -A "$conc/$vol")"
for f in "${datas[@]}"; do verify_pair "$f"; done
# each run reported its own file
o1=$(cat "$TEST_TMP/c1.out") o2=$(cat "$TEST_TMP/c2.out")
[[ ($o1 == *"${datas[0]}"* && $o2 == *"${datas[1]}"*) || ($o1 == *"${datas[1]}"* && $o2 == *"${datas[0]}"*) ]] ||
  fail "the two runs did not report the two distinct files: [$o1] [$o2]"

# ---------------------------------------------------------------- containers using the volume
app=${PFX}app idle=${PFX}idle
# sh traps TERM so that `docker stop` ends it at once (a bare sleep as PID 1 ignores SIGTERM).
run_user "$app" "$vol" --log-driver none
engine create --name "$idle" --network none --log-driver none -v "$vol:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" \
  sleep 3600 >/dev/null
assert_eq true "$(running "$app")" "$app running before the snapshot"
started_before=$(engine inspect -f '{{.State.StartedAt}}' "$app")

run_df -c "$proj" volume snapshot "$vol" -o "$TEST_TMP/inuse"
assert_eq 0 "$RC" "snapshot of a volume in use, without --stop-containers"
assert_contains "$ERR" "$app" "warning about the running container"
assert_contains "$ERR" "inconsistent" "warning about the running container"
assert_not_contains "$ERR" "$idle" "warning names the stopped container"
assert_eq true "$(running "$app")" "$app still running after a snapshot without --stop-containers"
assert_eq "$started_before" "$(engine inspect -f '{{.State.StartedAt}}' "$app")" "$app restarted without --stop-containers"
verify_pair "$(find "$TEST_TMP/inuse/$vol" -name '*.tar.zst')"

run_df -c "$proj" volume snapshot "$vol" -o "$TEST_TMP/stopped" --stop-containers --json
assert_eq 0 "$RC" "snapshot with --stop-containers"
printf '%s' "$OUT" >"$TEST_TMP/stop.json"
assert_eq "[\"$app\"]" "$(json_field containers_stopped "$TEST_TMP/stop.json")" "containers_stopped"
assert_eq "[\"$app\"]" "$(json_field containers_started "$TEST_TMP/stop.json")" "containers_started"
assert_not_contains "$ERR" "inconsistent" "warning with --stop-containers"
assert_eq true "$(running "$app")" "$app running again after --stop-containers"
started_after=$(engine inspect -f '{{.State.StartedAt}}' "$app")
[[ $started_after != "$started_before" ]] || fail "$app was not stopped and started again (StartedAt unchanged: $started_after)"
finished=$(engine inspect -f '{{.State.FinishedAt}}' "$app")
[[ $finished > $started_before ]] || fail "$app did not stop during the snapshot (FinishedAt $finished)"
assert_eq false "$(running "$idle")" "the stopped container $idle stays stopped"
assert_eq "0001-01-01T00:00:00Z" "$(engine inspect -f '{{.State.StartedAt}}' "$idle")" "$idle was never started"
verify_pair "$(json_field data_file "$TEST_TMP/stop.json")"
engine rm -f "$app" "$idle" >/dev/null

# ---------------------------------------------------------------- --all with a missing volume
allproj=$TEST_TMP/allproj
write_manifest "$allproj" failures "${PFX}one" "${PFX}gone" "${PFX}two"
engine volume create "${PFX}one" >/dev/null
engine volume create "${PFX}two" >/dev/null
vol_exec "${PFX}one" sh -c 'echo one > /v/one'
vol_exec "${PFX}two" sh -c 'echo two > /v/two'
run_df -c "$allproj" volume snapshot --all
[[ $RC != 0 ]] || fail "snapshot --all with a missing volume exited 0"
assert_eq 1 "$RC" "exit code of snapshot --all with a failed volume"
for v in one two; do
  mapfile -t got < <(find "$allproj/.dockform/snapshots/${PFX}$v" -name '*.tar.zst' 2>/dev/null)
  assert_eq 1 "${#got[@]}" "snapshots of ${PFX}$v after --all"
  verify_pair "${got[0]}"
  zstd -dc "${got[0]}" | tar -xOf - "./$v" | grep -qx "$v" || fail "snapshot of ${PFX}$v does not hold ./$v"
done
[[ ! -e $allproj/.dockform/snapshots/${PFX}gone ]] || fail "a folder was written for the missing volume ${PFX}gone"
assert_contains "$OUT" "failed: ${PFX}gone" "--all summary names the failed volume"
assert_contains "$OUT" "2 written, 1 failed" "--all summary counts"
assert_contains "$ERR" "not found in the engine (the manifest declares it: \`dockform apply\` creates it)" "--all error for the missing volume"

pass
