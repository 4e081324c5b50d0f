#!/usr/bin/env bash
# An encrypted repository under s3://BUCKET/PREFIX (a real Ceph radosgw):
# repo init -r; a writer holding only the repository key snapshots twice (the
# second stores little: frames found by their keyed ids in sealed indexes);
# every pack, index and recipe object is an age file and none holds the
# volume's text; the identity exports each ref as the file its sidecar names
# and restores it; the writer's key cannot read a frame back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

need_tools age age-keygen zstd sha256sum python3

proj=$TEST_TMP/proj
vol=${PFX}s3encrepo
repo=$S3_BASE/encrepo
write_manifest "$proj" s3encrepoident "$vol"
engine volume create "$vol" >/dev/null
fill_random "$vol" 6 1
vol_exec "$vol" sh -c 'i=0; while [ $i -lt 4000 ]; do echo "plaintext-marker-91c2 line $i"; i=$((i+1)); done >/v/notes.txt'
state() { vol_exec "$vol" sh -c 'cd /v && find . -type f | sort | xargs sha256sum'; }
stored() {
  s3_curl GET "?list-type=2&prefix=${S3_PREFIX}%2Fencrepo%2F" | grep -o '<Size>[0-9]*</Size>' | tr -dc '0-9\n' |
    awk '{ s += $1 } END { print s + 0 }'
}

K=$TEST_TMP/keys
mkdir -p "$K"
age-keygen -o "$K/one.txt" 2>/dev/null
chmod 600 "$K/one.txt"
export XDG_CONFIG_HOME=$TEST_TMP/xdg
unset DOCKFORM_IDENTITY_FILE DOCKFORM_PASSPHRASE_FILE
export DOCKFORM_REPO_KEY_FILE=$K/writer.key

run_df repo init "$repo" -r "$(age-keygen -y "$K/one.txt")"
assert_eq 0 "$RC" "repo init -r in a bucket: $ERR"
assert_contains "$OUT" "$K/writer.key" "the key file DOCKFORM_REPO_KEY_FILE names"

run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "first snapshot with the writer's key: $ERR"
ref1=$(json_field data_file)
side1=$(json_field sidecar_file)
size1=$(stored)
vol_exec "$vol" dd if=/dev/urandom of=/v/r2 bs=32k count=4 seek=3 conv=notrunc 2>/dev/null
run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "second snapshot: $ERR"
ref2=$(json_field data_file)
side2=$(json_field sidecar_file)
snap2_bytes=$(json_field compressed_bytes)
state2=$(state)
growth=$(($(stored) - size1))
echo "encrypted repository in the bucket: $size1 bytes after one snapshot, +$growth for the second"
((growth * 4 < snap2_bytes)) || fail "the repository grew by $growth bytes for a snapshot of $snap2_bytes"

# Every pack, index and recipe object is sealed; no object holds the volume's text.
n=0
while read -r key; do
  s3_fetch "$key" "$TEST_TMP/object"
  if grep -a -q plaintext-marker-91c2 "$TEST_TMP/object"; then fail "$key holds the volume's text"; fi
  case $key in
    */packs/* | */index/* | *.recipe)
      assert_eq "age-encryption.org/v1" "$(head -c 21 "$TEST_TMP/object")" "$key is an age file"
      n=$((n + 1))
      ;;
  esac
done < <(s3_keys "$S3_PREFIX/encrepo/")
((n >= 5)) || fail "only $n sealed objects"

run_df volume export "$ref2" -o "$TEST_TMP/nope.tar.zst"
assert_eq 2 "$RC" "export with the writer's key alone: $ERR"
assert_contains "$ERR" "sealed to the repository's recipients" "an identity is needed"

unset DOCKFORM_REPO_KEY_FILE
for n in 1 2; do
  ref=ref$n side=side$n
  s3_fetch "${!side#s3://"$S3_BUCKET"/}" "$TEST_TMP/side$n.json"
  run_df volume export "${!ref}" -o "$TEST_TMP/export$n.tar.zst" -i "$K/one.txt"
  assert_eq 0 "$RC" "export $n with the identity: $ERR"
  assert_eq "$(json_field checksum.tar_zst "$TEST_TMP/side$n.json")" \
    "$(sha256sum <"$TEST_TMP/export$n.tar.zst" | cut -c1-64)" "the exported file's SHA-256 is the sidecar's ($n)"
done
(($(zstd -dc "$TEST_TMP/export2.tar.zst" | tar -xOf - ./notes.txt | grep -c plaintext-marker-91c2) == 4000)) ||
  fail "the export does not hold the volume's text"
vol_exec "$vol" sh -c 'rm -rf /v/*'
run_df -c "$proj" volume restore "$vol" "$ref2" --force -i "$K/one.txt"
assert_eq 0 "$RC" "restore from the encrypted bucket repository: $ERR"
assert_eq "$state2" "$(state)" "the volume after the restore"
assert_eq "" "$(s3_keys "$S3_PREFIX/encrepo/locks/")" "no lock object is left"

pass
