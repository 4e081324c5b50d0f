#!/usr/bin/env bash
# Many concurrent snapshots of different volumes all succeed, each verifiable;
# a snapshot while a restore of the same volume runs is refused.
source "$(dirname "$0")/lib.sh"

vols=("${PFX}a" "${PFX}b" "${PFX}c" "${PFX}d")
write_manifest "$TEST_TMP/proj" "${PFX}id" "${vols[@]}"
for v in "${vols[@]}"; do
  engine volume create "$v" >/dev/null
  vol_exec "$v" sh -c "dd if=/dev/urandom of=/v/data bs=1M count=8 2>/dev/null && echo $v > /v/name"
done

pids=()
for v in "${vols[@]}"; do
  "$DOCKFORM" -c "$TEST_TMP/proj" volume snapshot "$v" -o "$TEST_TMP/snaps" >"$TEST_TMP/$v.out" 2>"$TEST_TMP/$v.err" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "snapshot of ${vols[$i]} failed: $(cat "$TEST_TMP/${vols[$i]}.err")"
done
for v in "${vols[@]}"; do
  files=("$TEST_TMP/snaps/$v"/*.tar.zst)
  assert_eq 1 "${#files[@]}" "one snapshot of $v"
  run_df volume verify "${files[0]}"
  assert_eq 0 "$RC" "snapshot of $v verifies"
  name=$(zstd -dc "${files[0]}" | tar -xOf - ./name)
  assert_eq "$v" "$name" "snapshot of $v holds its own data"
done

# A restore holds the volume's lock: a snapshot meanwhile is refused (exit 3).
# The lock container is created by hand here, as a live run of this shell would.
owner=$(my_owner)
engine create --name "dockform-lock-${vols[0]}" --label "io.dockform.lock=${vols[0]}" \
  --label "io.dockform.owner=$owner" "$DOCKFORM_TEST_BUSYBOX_IMAGE" true >/dev/null
run_df -c "$TEST_TMP/proj" volume snapshot "${vols[0]}" -o "$TEST_TMP/snaps2"
engine rm -f "dockform-lock-${vols[0]}" >/dev/null
assert_eq 3 "$RC" "snapshot during a restore is refused"
assert_contains "$ERR" "being restored by another dockform run" "refusal message"
assert_no_file "$TEST_TMP/snaps2/${vols[0]}" "no snapshot folder content written"

pass
