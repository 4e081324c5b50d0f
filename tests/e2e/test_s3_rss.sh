#!/usr/bin/env bash
# A 300 MB snapshot, encrypted (age, X25519), streamed to the bucket and
# restored from it: both succeed with the same bytes, and neither holds more
# than 64 MiB resident at its peak (/usr/bin/time -v; the bound holds whatever
# the size: parts of a fixed size, one filling and one in flight, one 64 KiB
# age chunk). The stored object is age's, and `age -d` opens it. Under
# AddressSanitizer only the bytes are checked: its shadow memory is not
# dockform's. (Plain snapshots in the bucket: test_s3_roundtrip.sh.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

big=${PFX}big
dst=${PFX}dst
manifest_and_volumes s3rss "$big" "$dst"
vol_exec "$big" sh -c '
  dd if=/dev/urandom of=/v/random bs=1M count=200 2>/dev/null &&
  seq 1 100000000 | head -c 104857600 > /v/text' || fail "filling $big"

age-keygen -o "$TEST_TMP/key.txt" 2>/dev/null || fail "age-keygen"
timed_df "snapshot of 300 MB to the bucket" "$TEST_TMP/snap.time" \
  -c "$M" volume snapshot "$big" -o "$S3_BASE" -r "$(age-keygen -y "$TEST_TMP/key.txt")" --json >"$TEST_TMP/snap.json"
url=$(json_field data_file "$TEST_TMP/snap.json")
[[ $url == *.tar.zst.age ]] || fail "the encrypted snapshot's object is named $url"
timed_df "restore of 300 MB from the bucket" "$TEST_TMP/restore.time" \
  -c "$M" volume restore "$dst" "$url" -i "$TEST_TMP/key.txt" >/dev/null
assert_eq "$(vol_exec "$big" sha256sum /v/random /v/text)" "$(vol_exec "$dst" sha256sum /v/random /v/text)" \
  "restored content equals the source"
# The object is a plain age file: age -d opens it to the compressed tar the sidecar describes.
key=${url#"s3://$S3_BUCKET/"}
s3_fetch "$key" "$TEST_TMP/object.age"
s3_fetch "${key%.tar.zst.age}.json" "$TEST_TMP/object.json"
assert_eq "$(json_field checksum.tar_zst_age "$TEST_TMP/object.json")" "$(sha256sum <"$TEST_TMP/object.age" | cut -c1-64)" \
  "checksum.tar_zst_age is the object's SHA-256"
assert_eq "$(json_field checksum.tar_zst "$TEST_TMP/object.json")" \
  "$(age -d -i "$TEST_TMP/key.txt" "$TEST_TMP/object.age" | sha256sum | cut -c1-64)" "age -d opens the object"
rm -f "$TEST_TMP/object.age"
assert_peak_rss "$TEST_TMP/snap.time" 64 "the snapshot of 300 MB to S3"
assert_peak_rss "$TEST_TMP/restore.time" 64 "the restore of 300 MB from S3"
pass
