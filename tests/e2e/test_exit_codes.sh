#!/usr/bin/env bash
# stages: sanitize
# Every documented exit code, each produced by a real case; --help lists them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

vol="${PFX}data"
other="${PFX}other"
missing="${PFX}missing"
proj=$TEST_TMP/proj
snaps=$TEST_TMP/snaps
write_manifest "$proj" "${PFX}id" "$vol" "$other" "$missing"

# --help documents the codes
run_df --help
assert_eq 0 "$RC" "--help exit code"
assert_contains "$OUT" "Exit codes:" "--help lists the exit codes"
for line in "0  success" "1  error" "2  usage error" "3  refused for safety" "4  Docker Engine unreachable" \
  "5  manifest missing or invalid" "6  object storage (s3://)"; do
  assert_contains "$OUT" "$line" "--help exit code line"
done
# The bash completion offers every flag of snapshot and restore.
run_df completion bash
assert_eq 0 "$RC" "completion bash"
for flag in --stop-timeout --hook-timeout --stop-containers --level --note; do
  assert_contains "$OUT" "$flag" "completion offers $flag"
done

# --- 0: validate
run_df -c "$proj" validate
assert_eq 0 "$RC" "validate"

engine volume create --label "io.dockform.identifier=${PFX}id" "$vol" >/dev/null
engine volume create --label "io.dockform.identifier=${PFX}id" "$other" >/dev/null
vol_exec "$vol" sh -c 'echo original >/v/file; mkdir /v/dir; echo two >/v/dir/two'
run_df -c "$proj" volume snapshot "$vol" -o "$snaps"
assert_eq 0 "$RC" "snapshot"
snap=$(ls "$snaps/$vol/"*.tar.zst)

# --- 1: errors
run_df -c "$proj" volume restore "$other" "$TEST_TMP/does-not-exist.tar.zst"
assert_eq 1 "$RC" "restore of a snapshot file that does not exist"
assert_contains "$ERR" "does-not-exist.tar.zst" "the error names the missing file"
run_df -c "$proj" volume snapshot "$missing" -o "$snaps"
assert_eq 1 "$RC" "snapshot of a volume that does not exist"
assert_contains "$ERR" "$missing" "the error names the missing volume"
assert_no_file "$snaps/$missing" "snapshot folder of a missing volume"
run_df -c "$proj" volume restore "${PFX}undeclared" "$snap"
assert_eq 1 "$RC" "restore into a volume the manifest does not declare"
assert_contains "$ERR" "not defined in manifest" "undeclared volume message"

# --- 2: usage
run_df -c "$proj" validate --no-such-flag
assert_eq 2 "$RC" "unknown flag"
run_df --no-such-flag
assert_eq 2 "$RC" "unknown global flag"
run_df -c "$proj" volume snapshot -o "$snaps"
assert_eq 2 "$RC" "volume snapshot with neither a name nor --all"
assert_contains "$ERR" "--all" "the usage error says what is missing"
run_df -c "$proj" volume snapshot "$vol" --all -o "$snaps"
assert_eq 2 "$RC" "volume snapshot with both a name and --all"
run_df -c "$proj" volume restore "$vol"
assert_eq 2 "$RC" "volume restore without a snapshot argument"
DOCKFORM_ZSTD_THREADS=abc run_df -c "$proj" volume snapshot "$vol" -o "$snaps"
assert_eq 2 "$RC" "a DOCKFORM_ZSTD_THREADS that is not a number"
assert_contains "$ERR" "DOCKFORM_ZSTD_THREADS=abc" "the usage error names the setting"
run_df -c "$proj" volume snapshot "$vol" --level 42 -o "$snaps"
assert_eq 2 "$RC" "volume snapshot --level 42"
run_df -c "$proj" volume nosuchcommand
assert_eq 2 "$RC" "unknown volume subcommand"
assert_eq 1 "$(find "$snaps/$vol" -name '*.tar.zst' | wc -l)" "usage errors wrote no snapshot"

# --- 3: restore into a non-empty volume without --force; the volume is untouched
vol_exec "$vol" sh -c 'echo changed >/v/file; echo new >/v/new'
before=$(tree_listing "$vol")
run_df -c "$proj" volume restore "$vol" "$snap"
assert_eq 3 "$RC" "restore into a non-empty volume without --force"
assert_contains "$ERR" "not empty" "non-empty volume message"
assert_contains "$ERR" "--force" "the message names --force"
assert_eq "$before" "$(tree_listing "$vol")" "the refused restore changed the volume"
# (and with --force the same restore works: the refusal was the only obstacle)
run_df -c "$proj" volume restore "$vol" "$snap" --force
assert_eq 0 "$RC" "restore --force"
assert_eq "original" "$(vol_exec "$vol" cat /v/file)" "content after restore --force"

# --- 4: engine unreachable
RC=0
OUT=$(DOCKER_HOST="unix://$TEST_TMP/nothing.sock" "$DOCKFORM" -c "$proj" validate 2>"$TEST_TMP/err") || RC=$?
ERR=$(<"$TEST_TMP/err")
assert_eq 4 "$RC" "validate with an unreachable engine"
assert_contains "$ERR" "unix://$TEST_TMP/nothing.sock" "the error names the endpoint"
RC=0
OUT=$(DOCKER_HOST="unix://$TEST_TMP/nothing.sock" "$DOCKFORM" -c "$proj" volume snapshot "$vol" -o "$snaps" \
  2>"$TEST_TMP/err") || RC=$?
ERR=$(<"$TEST_TMP/err")
assert_eq 4 "$RC" "snapshot with an unreachable engine"

# --- 5: manifest missing or invalid
printf 'docker:\n  identifier: x\nvolumes:\n  a: {\n' >"$TEST_TMP/broken.yml"
run_df -c "$TEST_TMP/broken.yml" validate
assert_eq 5 "$RC" "invalid manifest"
assert_contains "$ERR" "broken.yml:" "invalid manifest message names the file"
mkdir -p "$TEST_TMP/empty"
run_df -c "$TEST_TMP/empty" volume snapshot "$vol" -o "$snaps"
assert_eq 5 "$RC" "snapshot without a manifest"
assert_contains "$ERR" "no manifest found" "missing manifest message"

pass
