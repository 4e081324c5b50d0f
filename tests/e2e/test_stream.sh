#!/usr/bin/env bash
# Streaming: `snapshot -o -` and `restore VOLUME -`.
# - the bytes on standard output are the snapshot the --sidecar file describes
#   (sha256sum, zstd -t); nothing is written to the snapshot folder; the
#   result goes to standard error;
# - refused with a usage error: standard output a terminal, --all, --json,
#   --if-changed; standard input a terminal for restore;
# - restore from standard input with and without --sidecar (then the result
#   says the checksum was not verified); a cut and a damaged stream are
#   refused with the volume untouched and nothing left behind;
# - `verify -` with and without --sidecar, of a sound and a damaged stream;
#   `list -o -` and `prune -o -` refused (exit 2);
# - a shell pipe `snapshot -o - | restore -`, also encrypted and opened by age;
# - a reader that goes away (`| head -c`) ends the snapshot: exit 1, no helper
#   container, no lock left, the stopped user running again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dst=${PFX}dst
tricky_source stream "$dst"

# df_in INPUT ARGS...: dockform with standard input from INPUT (run_df reads /dev/null).
df_in() {
  local input=$1
  shift
  echo "+ dockform $* < $input" >&2
  RC=0
  "$DOCKFORM" "$@" <"$input" >"$TEST_TMP/.out" 2>"$TEST_TMP/.err" || RC=$?
  OUT=$(<"$TEST_TMP/.out")
  ERR=$(<"$TEST_TMP/.err")
}

# ---------------------------------------------------------------- -o - with --sidecar
stream=$TEST_TMP/stream.tar.zst
RC=0
"$DOCKFORM" -c "$M" volume snapshot "$src" -o - --sidecar "$TEST_TMP/stream.json" >"$stream" 2>"$TEST_TMP/snap.err" || RC=$?
assert_eq 0 "$RC" "snapshot -o -: $(cat "$TEST_TMP/snap.err")"
assert_contains "$(cat "$TEST_TMP/snap.err")" "written to standard output" "the result goes to standard error"
assert_eq "$(sha256sum <"$stream" | cut -c1-64)" "$(json_field checksum.tar_zst "$TEST_TMP/stream.json")" \
  "the bytes on standard output are the ones the sidecar describes"
zstd -tq "$stream" || fail "zstd -t of the stream"
assert_eq "$(zstd -dc "$stream" | wc -c)" "$(json_field uncompressed_bytes "$TEST_TMP/stream.json")" \
  "the sidecar's uncompressed_bytes matches the stream"
assert_no_file "$M/.dockform/snapshots" "-o - wrote into the snapshot folder"

# ---------------------------------------------------------------- usage errors
script -qec "$DOCKFORM -c $M volume snapshot $src -o -; echo rc=\$? > $TEST_TMP/tty.rc" /dev/null >"$TEST_TMP/tty.out" 2>&1 </dev/null
assert_eq "rc=2" "$(cat "$TEST_TMP/tty.rc")" "-o - to a terminal"
assert_contains "$(cat "$TEST_TMP/tty.out")" "standard output is a terminal" "-o - to a terminal: message"
for extra in --all --json --if-changed; do
  RC=0
  if [[ $extra == --all ]]; then
    "$DOCKFORM" -c "$M" volume snapshot --all -o - >/dev/null 2>"$TEST_TMP/usage.err" || RC=$?
  else
    "$DOCKFORM" -c "$M" volume snapshot "$src" -o - "$extra" >/dev/null 2>"$TEST_TMP/usage.err" || RC=$?
  fi
  assert_eq 2 "$RC" "-o - with $extra: $(cat "$TEST_TMP/usage.err")"
done
script -qec "$DOCKFORM -c $M volume restore $dst -; echo rc=\$? > $TEST_TMP/tty.rc" /dev/null >"$TEST_TMP/tty.out" 2>&1 </dev/null
assert_eq "rc=2" "$(cat "$TEST_TMP/tty.rc")" "restore - from a terminal"

# ---------------------------------------------------------------- restore from standard input
df_in "$stream" -c "$M" volume restore "$dst" - --sidecar "$TEST_TMP/stream.json" --json
assert_eq 0 "$RC" "restore - --sidecar: $ERR"
assert_eq "true" "$(json_field checksum_verified)" "restore - --sidecar verifies the checksum"
assert_eq "$want" "$(tree_listing "$dst")" "restore - --sidecar brought back every byte"
df_in "$stream" -c "$M" volume restore "$dst" - --force --json
assert_eq 0 "$RC" "restore - without a sidecar: $ERR"
assert_eq "false" "$(json_field checksum_verified)" "without a sidecar the checksum is not verified"
assert_contains "$(json_field warnings)" "no --sidecar for standard input" "the result says what was not checked"
assert_eq "$want" "$(tree_listing "$dst")" "restore - without a sidecar brought back every byte"

# ---------------------------------------------------------------- cut and damaged streams
vol_exec "$dst" sh -c 'echo before > /v/marker'
before=$(tree_listing "$dst")
size=$(stat -c %s "$stream")
head -c $((size / 2)) "$stream" >"$TEST_TMP/cut.tar.zst"
df_in "$TEST_TMP/cut.tar.zst" -c "$M" volume restore "$dst" - --force
[[ $RC != 0 ]] || fail "a cut stream was restored"
assert_volume_untouched "$dst" "$before" "a cut stream"
cp "$stream" "$TEST_TMP/damaged.tar.zst"
printf '\xff\xff\xff\xff' | dd of="$TEST_TMP/damaged.tar.zst" bs=1 seek=$((size / 2)) conv=notrunc status=none
df_in "$TEST_TMP/damaged.tar.zst" -c "$M" volume restore "$dst" - --force --sidecar "$TEST_TMP/stream.json"
assert_eq 3 "$RC" "a damaged stream with its sidecar: $ERR"
assert_contains "$ERR" "checksum mismatch" "a damaged stream: the checksum names it"
assert_volume_untouched "$dst" "$before" "a damaged stream"

# ---------------------------------------------------------------- verify -, and list/prune refuse -o -
df_in "$stream" volume verify - --sidecar "$TEST_TMP/stream.json" --json
assert_eq 0 "$RC" "verify - --sidecar: $ERR"
assert_eq "true" "$(json_field ok)" "verify - --sidecar: ok"
assert_eq "$(json_field file_count "$TEST_TMP/stream.json")" "$(json_field file_count)" "verify - counts the sidecar's files"
df_in "$stream" volume verify -
assert_eq 0 "$RC" "verify - without a sidecar: $ERR"
assert_contains "$ERR" "no sidecar" "verify - without a sidecar says the checksum is not compared"
df_in "$TEST_TMP/damaged.tar.zst" volume verify - --sidecar "$TEST_TMP/stream.json"
assert_eq 3 "$RC" "verify - of a damaged stream"
assert_contains "$OUT" "FAILED" "verify - of a damaged stream: FAILED"
df_in "$stream" volume verify "$stream" --sidecar "$TEST_TMP/stream.json"
assert_eq 2 "$RC" "verify FILE --sidecar is a usage error"
script -qec "$DOCKFORM volume verify -; echo rc=\$? > $TEST_TMP/tty.rc" /dev/null >"$TEST_TMP/tty.out" 2>&1 </dev/null
assert_eq "rc=2" "$(cat "$TEST_TMP/tty.rc")" "verify - from a terminal"
run_df -c "$M" volume list -o -
assert_eq 2 "$RC" "list -o -"
assert_contains "$ERR" "not a place holding snapshots" "list -o -: message"
run_df -c "$M" volume prune "$src" -o - --keep-last 1
assert_eq 2 "$RC" "prune -o -"
assert_contains "$ERR" "not a place holding snapshots" "prune -o -: message"

# ---------------------------------------------------------------- a pipe, plain and encrypted
RC=0
"$DOCKFORM" -c "$M" volume snapshot "$src" -o - 2>"$TEST_TMP/pipe.err" |
  "$DOCKFORM" -c "$M" volume restore "$dst" - --force 2>>"$TEST_TMP/pipe.err" >/dev/null || RC=$?
assert_eq 0 "$RC" "snapshot -o - | restore -: $(cat "$TEST_TMP/pipe.err")"
assert_eq "$want" "$(tree_listing "$dst")" "the pipe brought back every byte"
if command -v age-keygen >/dev/null; then
  age-keygen -o "$TEST_TMP/key.txt" 2>/dev/null
  "$DOCKFORM" -c "$M" volume snapshot "$src" -o - -r "$(age-keygen -y "$TEST_TMP/key.txt")" \
    --sidecar "$TEST_TMP/enc.json" 2>/dev/null >"$TEST_TMP/enc.age" || fail "snapshot -o - -r"
  assert_eq "$(json_field checksum.tar_zst "$TEST_TMP/enc.json")" \
    "$(age -d -i "$TEST_TMP/key.txt" "$TEST_TMP/enc.age" | sha256sum | cut -c1-64)" "age -d opens the encrypted stream"
  df_in "$TEST_TMP/enc.age" -c "$M" volume restore "$dst" - --force -i "$TEST_TMP/key.txt" --sidecar "$TEST_TMP/enc.json" --json
  assert_eq 0 "$RC" "restore - of an encrypted stream: $ERR"
  assert_eq "true" "$(json_field encrypted)" "the encrypted stream was recognised"
fi

# ---------------------------------------------------------------- the reader goes away
engine run -d --name "${PFX}user" -v "$src:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sleep 600 >/dev/null
set +o pipefail
"$DOCKFORM" -c "$M" volume snapshot "$src" -o - --stop-containers 2>"$TEST_TMP/broken.err" | head -c 1000 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
assert_eq 1 "$rc" "a snapshot whose reader went away: $(cat "$TEST_TMP/broken.err")"
assert_contains "$(cat "$TEST_TMP/broken.err")" "SIGPIPE" "the message says the output was closed"
assert_no_leftovers "$src" "a snapshot whose reader went away"
assert_eq "true" "$(engine inspect --format '{{.State.Running}}' "${PFX}user")" "the stopped user runs again"
pass
