#!/usr/bin/env bash
# stages: sanitize
# slow
# Snapshots in an S3 bucket (a real Ceph radosgw): snapshot -o s3://BUCKET/PREFIX
# writes PREFIX/<volume>/<stem>.tar.zst and <stem>.json, the object's bytes are
# what the sidecar's checksum says and pass a local verify; verify, list and
# prune work on the bucket; restore from the bucket gives the same tree,
# also with --force --stop-containers while a container uses the volume; no
# multipart upload is left behind; an existing object is never replaced.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

dst=${PFX}dst
app=${PFX}app
tricky_source s3test "$dst"

# --- 1. Snapshot to the bucket. ---
run_df -c "$M" volume snapshot "$src" -o "$S3_BASE" --json
assert_eq 0 "$RC" "snapshot of $src to $S3_BASE"
snap=$(json_field data_file)
sidecar_url=$(json_field sidecar_file)
stem=${snap##*/}
stem=${stem%.tar.zst}
assert_eq "$S3_BASE/$src/$stem.tar.zst" "$snap" "data_file is the object's URL"
assert_eq "$S3_BASE/$src/$stem.json" "$sidecar_url" "sidecar_file is the sidecar object's URL"
assert_eq "$(printf '%s\n' "$S3_PREFIX/$src/$stem.json" "$S3_PREFIX/$src/$stem.tar.zst")" "$(s3_keys)" \
  "the bucket holds exactly the data object and its sidecar"
assert_eq "" "$(s3_uploads)" "no multipart upload is left after a snapshot"

# The object is byte for byte a snapshot file: download both and verify locally.
mkdir -p "$TEST_TMP/copy"
s3_fetch "$S3_PREFIX/$src/$stem.tar.zst" "$TEST_TMP/copy/$stem.tar.zst"
s3_fetch "$S3_PREFIX/$src/$stem.json" "$TEST_TMP/copy/$stem.json"
sha=$(sha256sum "$TEST_TMP/copy/$stem.tar.zst" | cut -c1-64)
assert_eq "$sha" "$(json_field checksum.tar_zst "$TEST_TMP/copy/$stem.json")" \
  "the sidecar object holds the same checksum"
run_df volume verify "$TEST_TMP/copy/$stem.tar.zst"
assert_eq 0 "$RC" "the downloaded copy verifies as a local snapshot"

# --- 2. verify and list on the bucket. ---
run_df volume verify "$snap" --json
assert_eq 0 "$RC" "verify $snap"
assert_eq "true" "$(json_field ok)" "verify --json ok"
assert_eq "$sha" "$(json_field checksum)" "verify reads the same bytes"
assert_eq "$sidecar_url" "$(json_field sidecar)" "verify found the sidecar object"

run_df -c "$M" volume list -o "$S3_BASE" --json
assert_eq 0 "$RC" "list -o $S3_BASE"
listed=$(jq -r '[.snapshots[] | .volume + "=" + .data_file] | join(" ")' <<<"$OUT")
assert_eq "$src=$snap" "$listed" "list shows the one snapshot in the bucket"
run_df -c "$M" volume list "$src" -o "$S3_BASE"
assert_eq 0 "$RC" "list $src -o $S3_BASE (text)"
assert_contains "$OUT" "$stem.tar.zst" "text list names the snapshot"

# --- 3. Restore from the bucket into an empty volume. ---
run_df -c "$M" volume restore "$dst" "$snap" --json
assert_eq 0 "$RC" "restore $dst from $snap"
assert_eq "true" "$(json_field checksum_verified)" "restore verified the checksum against the sidecar object"
assert_tree_is "$dst" "$want" "tree of $dst after the restore from the bucket differs from the source's"

# --- 4. --force --stop-containers while a container uses the volume. ---
vol_exec "$dst" sh -c 'echo changed > /v/new-file'
run_user "$app" "$dst"
run_df -c "$M" volume restore "$dst" "$snap" --force --stop-containers --json
assert_eq 0 "$RC" "restore --force --stop-containers from the bucket"
assert_eq "[\"$app\"]" "$(json_field containers_started)" "the container was started again"
assert_eq "true" "$(engine inspect --format '{{.State.Running}}' "$app")" "$app runs after the restore"
assert_eq "$want" "$(tree_listing "$dst")" "tree after restore --force --stop-containers"

# --- 5. Prune in the bucket: two more snapshots, keep the newest two. ---
engine rm -f "$app" >/dev/null
for i in 1 2; do
  vol_exec "$src" sh -c "echo $i > /v/round-$i"
  run_df -c "$M" volume snapshot "$src" -o "$S3_BASE"
  assert_eq 0 "$RC" "snapshot $i to the bucket"
done
assert_eq 6 "$(s3_keys | wc -l)" "three snapshots (data + sidecar) in the bucket"
run_df -c "$M" volume prune "$src" -o "$S3_BASE" --keep-last 2 --dry-run
assert_eq 0 "$RC" "prune --dry-run"
assert_eq 6 "$(s3_keys | wc -l)" "--dry-run removes nothing"
run_df -c "$M" volume prune "$src" -o "$S3_BASE" --keep-last 2 --json
assert_eq 0 "$RC" "prune --keep-last 2"
assert_eq 4 "$(s3_keys | wc -l)" "two snapshots remain in the bucket"
grep -q "$stem" <<<"$(s3_keys)" && fail "the oldest snapshot $stem was not pruned"

# --- 6. Never over an existing object: the names of the next seconds are taken
# (data objects of another writer); the snapshot takes the first free second
# and leaves them as they were. ---
spec=$(json_field spec_hash "$TEST_TMP/copy/$stem.json")
now=$(date -u +%s)
taken=()
for ((t = now; t < now + 40; t++)); do
  name="$(date -u -d "@$t" +%Y-%m-%dT%H-%M-%SZ)__spec-$spec.tar.zst"
  taken+=("$name")
  printf 'not mine %s' "$t" | s3_curl PUT "/$S3_PREFIX/$src/$name" --data-binary @- -f -o /dev/null ||
    fail "cannot put $name"
done
run_df -c "$M" volume snapshot "$src" -o "$S3_BASE" --json
assert_eq 0 "$RC" "snapshot while the next seconds' names are taken"
new=$(json_field data_file)
new=${new##*/}
for name in "${taken[@]}"; do
  [[ $new != "$name" ]] || fail "the snapshot took $name, which already existed"
done
assert_eq "not mine $now" "$(s3_curl GET "/$S3_PREFIX/$src/${taken[0]}")" "an existing object is left as it was"
[[ $new > ${taken[-1]} ]] || fail "the snapshot $new should come after the taken names"

# --- --if-changed against a bucket: the newest snapshot's sidecar is read back.
ifc="$S3_BASE/ifchanged"
run_df -c "$M" volume snapshot "$dst" -o "$ifc" --if-changed --json
assert_eq 0 "$RC" "--if-changed to s3:// (nothing there yet)"
assert_eq "false" "$(json_field unchanged)" "s3://: the first snapshot is written"
ifc_first=$(json_field data_file)
ifc_keys=$(s3_keys "$S3_PREFIX/ifchanged/")
run_df -c "$M" volume snapshot "$dst" -o "$ifc" --if-changed --json
assert_eq 0 "$RC" "--if-changed to s3://, unchanged"
assert_eq "true" "$(json_field unchanged)" "s3://: unchanged"
assert_eq "$ifc_first" "$(json_field data_file)" "s3://: names the newest snapshot"
assert_eq "$ifc_keys" "$(s3_keys "$S3_PREFIX/ifchanged/")" "s3://: nothing written for an unchanged volume"

pass
