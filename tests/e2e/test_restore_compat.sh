#!/usr/bin/env bash
# volume restore accepts snapshots made the way the reference (dockform 0.5)
# made them: `tar -cf - -C /src . | zstd -19` (GNU tar and busybox tar), with the
# reference's sidecar name X.tar.json, and plain uncompressed .tar files. It
# refuses unknown extensions and a .tar.zst that is not zstd data.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=${PFX}src
R=$TEST_TMP/ref
mkdir -p "$R"
manifest_and_volumes restoretest "$src" "${PFX}gnu" "${PFX}bb" "${PFX}plain"

tar_of() { # IMAGE: the source volume as a tar stream on stdout, made by IMAGE's tar
  engine run --rm --network none --log-driver none -v "$src:/src:ro" "$1" tar -cf - -C /src .
}
# reference_sidecar DATA SIDECAR VOLUME: the sidecar dockform 0.5 wrote (same fields).
reference_sidecar() {
  local data=$1 out=$2 volume=$3 hash tar_bytes
  # A volume made by `docker volume create`: driver local, no options, no labels.
  hash=$(printf 'driver=local|opts=|labels=' | sha256sum | cut -c1-8)
  tar_bytes=$(zstd -q -dc "$data" | wc -c)
  python3 - "$out" "$volume" "$hash" "$tar_bytes" "$want_files" "$(sha256sum "$data" | cut -c1-64)" <<'EOF'
import json, sys
out, volume, spec, tar_bytes, files, sha = sys.argv[1:]
doc = {
    "dockform_version": "0.5.3",
    "created_at": "2023-10-04T15:30:45Z",
    "volume_name": volume,
    "spec_hash": spec,
    "driver": "local",
    "driver_opts": {},
    "labels": {},
    "uncompressed_bytes": int(tar_bytes),
    "file_count": int(files),
    "checksum": {"algo": "sha256", "tar_zst": sha},
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
EOF
}
check_tree() { # VOLUME WHAT
  assert_tree_is "$1" "$want" "$2: tree of $1 differs from the source's"
}

fill_tricky "$src"
want=$(tree_listing "$src")
# Paths, not lines: fill_tricky has a file name holding a newline.
want_files=$(vol_exec "$src" sh -c 'find /v -type f -print0 | tr -cd "\\0" | wc -c')

# --- GNU tar | zstd -19, sidecar REF.tar.json (the reference's name). ---
tar_of "$DOCKFORM_TEST_GNUTAR_IMAGE" | zstd -q -19 >"$R/REF.tar.zst"
zstd -q -t "$R/REF.tar.zst" || fail "the GNU tar reference snapshot is not valid zstd"
reference_sidecar "$R/REF.tar.zst" "$R/REF.tar.json" "${PFX}gnu"
run_df -c "$M" volume restore "${PFX}gnu" "$R/REF.tar.zst" --json
assert_eq 0 "$RC" "restore of the GNU tar reference snapshot"
assert_eq "\"$R/REF.tar.json\"" "$(json_field --json sidecar)" "the reference's sidecar name X.tar.json is found"
assert_eq "true" "$(json_field --json checksum_verified)" "checksum verified against the reference sidecar"
assert_eq "$want_files" "$(json_field --json file_count)" "file_count of the reference snapshot"
assert_eq "[]" "$(json_field --json warnings)" "no warnings (volume name and spec hash match)"
check_tree "${PFX}gnu" "GNU tar reference snapshot"

# --- busybox tar | zstd -19, sidecar BB.tar.json. ---
tar_of "$DOCKFORM_TEST_BUSYBOX_IMAGE" | zstd -q -19 >"$R/BB.tar.zst"
reference_sidecar "$R/BB.tar.zst" "$R/BB.tar.json" "${PFX}bb"
run_df -c "$M" volume restore "${PFX}bb" "$R/BB.tar.zst" --json
assert_eq 0 "$RC" "restore of the busybox tar reference snapshot"
assert_eq "true" "$(json_field --json checksum_verified)" "checksum verified (busybox tar snapshot)"
assert_eq "$want_files" "$(json_field --json file_count)" "file_count of the busybox tar snapshot"
check_tree "${PFX}bb" "busybox tar reference snapshot"

# A reference sidecar with a wrong checksum is honoured too: refused, volume unchanged.
mkdir -p "$R/bad"
cp "$R/BB.tar.zst" "$R/bad/BB.tar.zst"
sidecar_with_checksum "$R/BB.tar.json" "$R/bad/BB.tar.json" f
run_df -c "$M" volume restore "${PFX}bb" "$R/bad/BB.tar.zst" --force
assert_eq 3 "$RC" "a reference-named sidecar with a wrong checksum"
assert_contains "$ERR" "checksum mismatch" "wrong checksum in X.tar.json"
check_tree "${PFX}bb" "after the checksum refusal"

# --- Plain uncompressed .tar (busybox tar), no sidecar. ---
tar_of "$DOCKFORM_TEST_BUSYBOX_IMAGE" >"$R/PLAIN.tar"
run_df -c "$M" volume restore "${PFX}plain" "$R/PLAIN.tar" --json
assert_eq 0 "$RC" "restore of a plain .tar"
assert_eq "false" "$(json_field --json checksum_verified)" "no sidecar: checksum not verified"
assert_eq "null" "$(json_field --json sidecar)" "no sidecar reported"
assert_eq "$(sha256sum "$R/PLAIN.tar" | cut -c1-64)" "$(json_field --json checksum | tr -d '"')" "checksum of the plain tar"
assert_contains "$(json_field --json warnings)" "no sidecar" "missing sidecar warned about"
check_tree "${PFX}plain" "plain .tar"

# --- Refusals: wrong extensions, and a .tar.zst that is a plain tar. ---
mkdir -p "$R/wrong"
cp "$R/REF.tar.zst" "$R/wrong/snap.tgz"
cp "$R/REF.tar.zst" "$R/wrong/snap.zip"
cp "$R/REF.tar.zst" "$R/wrong/snap.zst"
for file in snap.tgz snap.zip snap.zst; do
  run_df -c "$M" volume restore "${PFX}plain" "$R/wrong/$file" --force
  ((RC != 0)) || fail "restore of $file succeeded"
  assert_contains "$ERR" "extension" "$file: message about the extension"
  check_tree "${PFX}plain" "after refusing $file"
done
cp "$R/PLAIN.tar" "$R/wrong/fake.tar.zst"
run_df -c "$M" volume restore "${PFX}plain" "$R/wrong/fake.tar.zst" --force
((RC != 0)) || fail "restore of a plain tar named .tar.zst succeeded"
assert_contains "$ERR" "not zstd data" "wrong magic for .tar.zst"
check_tree "${PFX}plain" "after refusing fake.tar.zst"
cp "$R/REF.tar.zst" "$R/wrong/fake.tar"
run_df -c "$M" volume restore "${PFX}plain" "$R/wrong/fake.tar" --force
((RC != 0)) || fail "restore of zstd data named .tar succeeded"
assert_contains "$ERR" "not a tar archive" "wrong magic for .tar"
check_tree "${PFX}plain" "after refusing fake.tar"
leftovers=$(vol_exec "${PFX}plain" ls -a /v)
assert_not_contains "$leftovers" ".dockform-" "no staging left after the refusals"

pass
