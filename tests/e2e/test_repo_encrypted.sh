#!/usr/bin/env bash
# stages: sanitize
# Encrypted repositories (docs/encryption.md, "Repositories"): repo init -r
# seals every pack, pack index and recipe in the age format (each opens with
# `age -d`), frames are named by a keyed hash, and nothing of the volume is
# stored in the clear. A writer holds the repository key (its key file) and
# no identity: it snapshots and prunes, but cannot read a frame back. The
# identity reads everything (export, verify, ls, extract, restore), recovers
# the key for another writer (repo key), and rewrites packs in a prune.
# Without a key nothing is written and the messages say what to give; a
# damaged pack is a checksum mismatch. A passphrase repository too.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools age age-keygen zstd tar sha256sum python3

proj=$TEST_TMP/proj
vol=${PFX}encrepo
repo=$TEST_TMP/repo
write_manifest "$proj" encrepoident "$vol"
engine volume create "$vol" >/dev/null
fill_random "$vol" 6 1
# A file whose words must appear nowhere in the repository.
vol_exec "$vol" sh -c 'i=0; while [ $i -lt 4000 ]; do echo "plaintext-marker-7f3a line $i"; i=$((i+1)); done >/v/notes.txt'
state() { vol_exec "$vol" sh -c 'cd /v && find . -type f | sort | xargs sha256sum'; }

K=$TEST_TMP/keys
mkdir -p "$K" "$TEST_TMP/xdg"
age-keygen -o "$K/one.txt" 2>/dev/null
age-keygen -o "$K/other.txt" 2>/dev/null
chmod 600 "$K"/*
one=$(age-keygen -y "$K/one.txt")
# No key file found by default: each run says which it uses.
export XDG_CONFIG_HOME=$TEST_TMP/xdg
unset DOCKFORM_REPO_KEY_FILE DOCKFORM_IDENTITY_FILE DOCKFORM_PASSPHRASE_FILE

# ---------------------------------------------------------------- init
run_df repo init "$repo" -r "$one" --key-file "$K/writer.key"
assert_eq 0 "$RC" "repo init -r: $ERR"
assert_contains "$OUT" "$K/writer.key" "init names the writer's key file"
assert_eq 600 "$(stat -c %a "$K/writer.key")" "the key file is private"
assert_eq hmac-sha256 "$(json_field encryption.frame_id "$repo/config")" "frames are named by a keyed hash"
age -d -i "$K/one.txt" "$repo/keys/repository.age" >"$TEST_TMP/key.json" || fail "age -d cannot open the key object"
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["key"]) == 64' "$TEST_TMP/key.json" ||
  fail "the key object holds no key"
# A key file that exists is refused before anything is made: the same place takes a second try.
run_df repo init "$TEST_TMP/repo-b" -r "$one" --key-file "$K/writer.key"
assert_eq 2 "$RC" "repo init with an existing key file: $ERR"
assert_contains "$ERR" "exists" "the message names the key file"
run_df repo init "$TEST_TMP/repo-b" -r "$one" --key-file "$K/b.key"
assert_eq 0 "$RC" "repo init again in the same place with a new key file: $ERR"

# ---------------------------------------------------------------- a writer without an identity
run_df -c "$proj" volume snapshot "$vol" -o "$repo"
assert_eq 2 "$RC" "a snapshot without the key: $OUT $ERR"
assert_contains "$ERR" "is encrypted and this host has no key" "the message says what is missing"
assert_eq "" "$(files_under "$repo/packs")$(files_under "$repo/snapshots")" "nothing written without the key"

export DOCKFORM_REPO_KEY_FILE=$K/writer.key
run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "first snapshot with the writer's key: $ERR"
assert_eq true "$(json_field encrypted)" "snapshot --json: encrypted (sealed in the repository)"
ref1=$(json_field data_file)
side1=$(json_field sidecar_file)
state1=$(state)
vol_exec "$vol" dd if=/dev/urandom of=/v/r3 bs=32k count=4 seek=2 conv=notrunc 2>/dev/null
run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "second snapshot: $ERR"
ref2=$(json_field data_file)
side2=$(json_field sidecar_file)
state2=$(state)

# ---------------------------------------------------------------- what is stored
if grep -r -a -l "plaintext-marker-7f3a" "$repo" >/dev/null; then
  fail "the volume's text is readable in $(grep -r -a -l plaintext-marker-7f3a "$repo" | head -1)"
fi
for f in $(files_under "$repo/packs") $(files_under "$repo/index") $(find "$repo/snapshots" -name '*.recipe'); do
  assert_eq "age-encryption.org/v1" "$(head -c 21 "$f")" "$f is an age file"
done
# Each opens with age -d and the identity: a pack's frames decompress to the tar's bytes.
# (grep -c reads to the end: -q would stop the pipe early, a failure under pipefail)
for f in $(files_under "$repo/packs"); do age -d -i "$K/one.txt" "$f"; done | zstd -dc >"$TEST_TMP/packs.tar"
(($(grep -a -c plaintext-marker-7f3a "$TEST_TMP/packs.tar") > 0)) ||
  fail "the packs, opened with age -d, do not hold the volume's text"
recipe=$(find "$repo/snapshots" -name '*.recipe' | head -1)
assert_eq dockform-recipe "$(age -d -i "$K/one.txt" "$recipe" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" \
  "a recipe opens with age -d"
# A frame's id is no SHA-256 of its bytes (the storage cannot confirm a guessed frame).
index=$(files_under "$repo/index" | head -1)
age -d -i "$K/one.txt" "$index" >"$TEST_TMP/index.json" || fail "age -d cannot open $index"
pack=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packs"][0]["pack"])' "$TEST_TMP/index.json")
age -d -i "$K/one.txt" "$repo/packs/$pack.pack" >"$TEST_TMP/pack.plain" || fail "age -d cannot open the pack"
python3 - "$TEST_TMP/index.json" "$TEST_TMP/pack.plain" <<'EOF' || fail "frame ids are plain SHA-256 digests"
import hashlib, json, sys
pack = json.load(open(sys.argv[1]))["packs"][0]
data = open(sys.argv[2], "rb").read()
for frame_id, offset, length in pack["frames"][:20]:
    assert hashlib.sha256(data[offset:offset + length]).hexdigest() != frame_id, frame_id
EOF

# ---------------------------------------------------------------- the writer's key reads no frame
run_df repo stats "$repo" --json
assert_eq 0 "$RC" "repo stats with the writer's key: $ERR"
assert_eq true "$(json_field encrypted)" "repo stats says encrypted"
assert_eq 2 "$(json_field snapshots)" "repo stats counts the snapshots with the writer's key"
DOCKFORM_REPO_KEY_FILE=$TEST_TMP/none.key run_df -c "$proj" volume list -o "$repo" --json
assert_eq 0 "$RC" "list without any key: $ERR"
assert_contains "$ERR" "sizes unknown" "list without a key says why the sizes are unknown"
run_df -c "$proj" volume list -o "$repo" --json
assert_eq 0 "$RC" "list with the writer's key: $ERR"
assert_eq "$ref2 $ref1" "$(json_field snapshots.0.ref) $(json_field snapshots.1.ref)" "list --json refs"
assert_eq true "$(json_field snapshots.0.encrypted)" "list --json: encrypted"
run_df volume export "$ref1" -o "$TEST_TMP/nope.tar.zst"
assert_eq 2 "$RC" "export with the writer's key alone: $ERR"
assert_contains "$ERR" "sealed to the repository's recipients" "the message says an identity is needed"
assert_no_file "$TEST_TMP/nope.tar.zst" "a refused export leaves no file"
run_df -c "$proj" volume restore "$vol" "$ref1" --force
assert_eq 2 "$RC" "restore with the writer's key alone: $ERR"
assert_eq "$state2" "$(state)" "the volume after a refused restore"
run_df volume verify "$ref1"
assert_eq 2 "$RC" "verify with the writer's key alone (a key missing, not a damaged snapshot): $OUT $ERR"
assert_contains "$ERR" "sealed to the repository's recipients" "verify says an identity is needed"
run_df volume export "$ref1" -o "$TEST_TMP/nope.tar.zst" -i "$K/other.txt"
assert_eq 2 "$RC" "export with another identity: $ERR"

# ---------------------------------------------------------------- the identity reads everything
unset DOCKFORM_REPO_KEY_FILE
for n in 1 2; do
  ref=ref$n side=side$n
  run_df volume export "${!ref}" -o "$TEST_TMP/export$n.tar.zst" -i "$K/one.txt"
  assert_eq 0 "$RC" "export $n with the identity: $ERR"
  assert_eq "$(json_field checksum.tar_zst "${!side}")" "$(sha256sum <"$TEST_TMP/export$n.tar.zst" | cut -c1-64)" \
    "the exported file's SHA-256 is the sidecar's ($n)"
  run_df volume verify "${!ref}" -i "$K/one.txt"
  assert_eq 0 "$RC" "verify $n: $OUT $ERR"
  assert_not_contains "$ERR" "not needed" "the identity is needed for a ref of an encrypted repository"
done
run_df volume verify "$ref2" --no-read-data -i "$K/one.txt"
assert_eq 0 "$RC" "verify --no-read-data: $OUT $ERR"
run_df volume ls "$ref2" -i "$K/one.txt"
assert_eq 0 "$RC" "ls: $ERR"
assert_eq "$(zstd -dc "$TEST_TMP/export2.tar.zst" | tar -tf - | sort)" "$(sort <<<"$OUT")" "volume ls of a ref"
run_df volume extract "$ref2" ./notes.txt -o "$TEST_TMP/extracted" -i "$K/one.txt"
assert_eq 0 "$RC" "extract: $ERR"
assert_contains "$state2" "$(sha256sum <"$TEST_TMP/extracted/notes.txt" | cut -c1-64)  ./notes.txt" "the extracted file"
run_df -c "$proj" volume restore "$vol" "$ref1" --force -i "$K/one.txt"
assert_eq 0 "$RC" "restore of the first snapshot: $ERR"
assert_eq "$state1" "$(state)" "the volume after restoring the first snapshot"

# ---------------------------------------------------------------- another writer: repo key
run_df repo key "$repo" --key-file "$K/second.key"
assert_eq 2 "$RC" "repo key without an identity: $ERR"
run_df repo key "$repo" -i "$K/one.txt" --key-file "$K/second.key"
assert_eq 0 "$RC" "repo key: $ERR"
assert_eq "$(grep -v '^#' "$K/writer.key")" "$(grep -v '^#' "$K/second.key")" "repo key recovers the same key"
vol_exec "$vol" dd if=/dev/urandom of=/v/r1 bs=32k count=4 seek=9 conv=notrunc 2>/dev/null
DOCKFORM_REPO_KEY_FILE=$K/second.key run_df -c "$proj" volume snapshot "$vol" -o "$repo" --json
assert_eq 0 "$RC" "a snapshot with the recovered key: $ERR"
ref3=$(json_field data_file)
state3=$(state)
run_df repo init "$TEST_TMP/other-repo" -r "$one" --key-file "$K/other-repo.key"
DOCKFORM_REPO_KEY_FILE=$K/other-repo.key run_df -c "$proj" volume snapshot "$vol" -o "$repo"
assert_eq 2 "$RC" "a snapshot with another repository's key: $ERR"
assert_contains "$ERR" "is not the key of repository" "the wrong key file is named"

# ---------------------------------------------------------------- prune: the writer collects, the identity repacks
DOCKFORM_REPO_KEY_FILE=$K/writer.key run_df -c "$proj" volume prune "$vol" -o "$repo" --keep-last 1 --repack 0 --json
assert_eq 0 "$RC" "prune with the writer's key: $ERR"
assert_contains "$ERR" "needs the repository's identity" "prune says partly used packs stay"
run_df -c "$proj" volume prune "$vol" -o "$repo" --keep-last 1 --repack 0 --json -i "$K/one.txt"
assert_eq 0 "$RC" "prune with the identity: $ERR"
(($(json_field collected.packs_rewritten) > 0)) || fail "the prune with the identity rewrote no pack: $OUT"
run_df volume verify "$ref3" -i "$K/one.txt"
assert_eq 0 "$RC" "verify after the prunes: $OUT $ERR"
run_df -c "$proj" volume restore "$vol" "$ref3" --force -i "$K/one.txt"
assert_eq 0 "$RC" "restore after the prunes: $ERR"
assert_eq "$state3" "$(state)" "the volume after restoring the kept snapshot"

# ---------------------------------------------------------------- a damaged pack
pack=$(find "$repo/packs" -name '*.pack' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
printf '\x55\xaa' | dd of="$pack" bs=1 seek=$(($(stat -c %s "$pack") / 2)) conv=notrunc 2>/dev/null
run_df volume verify "$ref3" -i "$K/one.txt"
assert_eq 3 "$RC" "verify with a damaged pack: $OUT $ERR"
assert_contains "$OUT$ERR" "checksum mismatch" "verify names the damage"

# ---------------------------------------------------------------- a passphrase repository
printf 'correct horse battery staple\n' >"$K/pass"
printf 'wrong horse\n' >"$K/wrong"
chmod 600 "$K/pass" "$K/wrong"
run_df repo init "$TEST_TMP/prepo" --passphrase-file "$K/pass"
assert_eq 0 "$RC" "repo init --passphrase-file: $ERR"
assert_contains "$OUT" "$TEST_TMP/xdg/dockform/repository-keys/" "the key file's default place"
run_df -c "$proj" volume snapshot "$vol" -o "$TEST_TMP/prepo" --json
assert_eq 0 "$RC" "snapshot into the passphrase repository (the key file found by default): $ERR"
pref=$(json_field data_file)
run_df volume verify "$pref" --passphrase-file "$K/wrong"
assert_eq 2 "$RC" "verify with the wrong passphrase: $OUT $ERR"
run_df -c "$proj" volume restore "$vol" "$pref" --force --passphrase-file "$K/pass"
assert_eq 0 "$RC" "restore from the passphrase repository: $ERR"
assert_eq "$state3" "$(state)" "the volume after the passphrase repository's restore"

pass
