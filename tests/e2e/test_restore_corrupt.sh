#!/usr/bin/env bash
# stages: sanitize
# slow
# volume restore refuses damaged snapshots before touching the volume: a
# flipped byte (sidecar beside it), a sidecar whose checksum does not match, an
# archive truncated to half without sidecar, plain tars cut in a member or
# right after one (no end-of-archive marker). Each time: non-zero exit, the
# volume's tree unchanged, no .dockform-* staging left, the container using the
# volume neither stopped nor restarted, no helper or lock container left behind.
# (Unsafe archives: test_restore_unsafe.sh.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

live=${PFX}live
app=${PFX}app
tricky_source restoretest "$live"
snapshot_of "$src"
sidecar=${snap%.tar.zst}.json

fill_known "$live"
run_user "$app" "$live"
# check_untouched WHAT: the volume, its user and the engine are as before.
keep_untouched "$live" "$app"

# --- 5. One byte flipped in the middle, sidecar kept beside the copy. ---
mkdir -p "$TEST_TMP/flip"
cp "$snap" "$TEST_TMP/flip/flipped.tar.zst"
cp "$sidecar" "$TEST_TMP/flip/flipped.json"
flip_byte "$TEST_TMP/flip/flipped.tar.zst" half 0x10
cmp -s "$snap" "$TEST_TMP/flip/flipped.tar.zst" && fail "the byte flip did not change the copy"
run_df -c "$M" volume restore "$live" "$TEST_TMP/flip/flipped.tar.zst" --force --stop-containers
# Whatever noticed it first (zstd's frame checksum, the tar parser), the
# message is a checksum mismatch naming both digests.
want=$(json_field checksum.tar_zst "$sidecar")
have=$(sha256sum "$TEST_TMP/flip/flipped.tar.zst" | cut -d' ' -f1)
assert_eq 3 "$RC" "restore of a snapshot with a flipped byte"
assert_contains "$ERR" "checksum mismatch: sidecar says $want, the file has $have" "flipped byte message"
check_untouched "flipped byte"
run_df volume verify "$TEST_TMP/flip/flipped.tar.zst"
assert_eq 3 "$RC" "verify of a snapshot with a flipped byte"
assert_contains "$OUT" "problem: checksum mismatch: sidecar says $want, the file has $have" "verify names the mismatch"

# --- 5b. An intact archive whose sidecar records another checksum. ---
mkdir -p "$TEST_TMP/badsum"
cp "$snap" "$TEST_TMP/badsum/badsum.tar.zst"
sidecar_with_checksum "$sidecar" "$TEST_TMP/badsum/badsum.json" 0
run_df -c "$M" volume restore "$live" "$TEST_TMP/badsum/badsum.tar.zst" --force --stop-containers
assert_eq 3 "$RC" "restore with a sidecar checksum that does not match"
assert_contains "$ERR" "checksum mismatch" "wrong sidecar checksum message"
assert_contains "$ERR" "$(printf '0%.0s' {1..64})" "the message names the sidecar's checksum"
check_untouched "wrong sidecar checksum"

# --- 6. Truncated to half, no sidecar. ---
mkdir -p "$TEST_TMP/trunc"
cp "$snap" "$TEST_TMP/trunc/half.tar.zst"
truncate -s $(($(stat -c %s "$snap") / 2)) "$TEST_TMP/trunc/half.tar.zst"
run_df -c "$M" volume restore "$live" "$TEST_TMP/trunc/half.tar.zst" --force --stop-containers
((RC != 0)) || fail "restore of a truncated snapshot succeeded"
assert_contains "$ERR" "no sidecar" "a snapshot without sidecar is restored with a warning"
echo "truncated: exit $RC"
check_untouched "truncated archive"

# A plain .tar cut in the middle of a member, and one cut exactly after a
# member (no end-of-archive marker): both refused.
zstd -q -dc "$snap" >"$TEST_TMP/trunc/whole.tar"
head -c $(($(stat -c %s "$TEST_TMP/trunc/whole.tar") / 2 + 100)) "$TEST_TMP/trunc/whole.tar" >"$TEST_TMP/trunc/cut.tar"
run_df -c "$M" volume restore "$live" "$TEST_TMP/trunc/cut.tar" --force --stop-containers
((RC != 0)) || fail "restore of a plain tar cut in a member succeeded"
check_untouched "plain tar cut in a member"
python3 - "$TEST_TMP/trunc/noeof.tar" <<'EOF'
import io, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    d = tarfile.TarInfo("./"); d.type = tarfile.DIRTYPE; d.mode = 0o755; t.addfile(d)
    data = b"x" * 1000
    f = tarfile.TarInfo("./only.txt"); f.size = len(data); t.addfile(f, io.BytesIO(data))
raw = buf.getvalue()
# Header + 1000 bytes padded to 1024: keep the members, drop the end-of-archive blocks.
end = raw.rfind(b"x" * 1000) + 1024
open(sys.argv[1], "wb").write(raw[:end])
EOF
run_df -c "$M" volume restore "$live" "$TEST_TMP/trunc/noeof.tar" --force --stop-containers
((RC != 0)) || fail "restore of a tar without its end-of-archive marker succeeded"
assert_contains "$ERR" "truncated" "a missing end-of-archive marker is reported as truncated"
check_untouched "tar without end-of-archive marker"

# The volume still restores from the intact snapshot afterwards (nothing stuck).
run_df -c "$M" volume restore "$live" "$snap" --force --stop-containers
assert_eq 0 "$RC" "restore of the intact snapshot after the refusals"
assert_eq "$(tree_listing "$src")" "$(tree_listing "$live")" "tree after the final restore"

pass
