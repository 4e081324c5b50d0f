#!/usr/bin/env bash
# stages: podman
# Deterministic archives, --if-changed and --exclude:
# - two snapshots of an unchanged volume hold byte-identical tar streams and
#   the same index_sha256 (the tar has no tar_sha256 of its own any more: the
#   index's frame hashes cover it); a newest snapshot of the older kind (no
#   index) counts as changed;
# - --if-changed writes nothing for an unchanged volume (exit 0, the message
#   and --json's "unchanged" name the newest snapshot) and writes for a
#   changed one (s3:// in test_s3_roundtrip.sh);
# - --exclude (repeatable, `**`, a folder pattern drops its subtree) and the
#   manifest's volumes.NAME.exclude leave paths out; the sidecar lists the
#   patterns; --if-changed compares only snapshots made with the same ones.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vol=${PFX}data
manifest_and_volumes ifchanged "$vol"
vol_exec "$vol" sh -euc '
  mkdir -p /v/app/cache/deep /v/logs/old /v/keep
  echo config > /v/app/config
  echo cached > /v/app/cache/deep/blob
  echo one > /v/logs/a.log
  echo two > /v/logs/old/b.log
  echo notes > /v/logs/notes.txt
  echo kept > /v/keep/file'

data_files() { find "$1" -name '*.tar.zst' | sort; }

# ---------------------------------------------------------------- determinism and index_sha256
out=$TEST_TMP/snaps
run_df -c "$M" volume snapshot "$vol" -o "$out" --json
assert_eq 0 "$RC" "first snapshot"
first=$(json_field data_file)
first_index=$(json_field sidecar.index_sha256)
[[ $first_index =~ ^[0-9a-f]{64}$ ]] || fail "no index_sha256 in the sidecar: '$first_index'"
assert_not_contains "$(cat "$(json_field sidecar_file)")" '"tar_sha256"' "a compressed snapshot has no tar_sha256"
assert_eq "false" "$(json_field unchanged)" "a first snapshot is no unchanged one"
sleep 1 # a new second: the next snapshot gets a name of its own
run_df -c "$M" volume snapshot "$vol" -o "$out" --json
assert_eq 0 "$RC" "second snapshot, without --if-changed"
second=$(json_field data_file)
[[ $second != "$first" ]] || fail "the second snapshot replaced the first"
cmp <(zstd -dc "$first") <(zstd -dc "$second") || fail "two snapshots of an unchanged volume differ in their tar streams"
assert_eq "$first_index" "$(json_field sidecar.index_sha256)" "the same index for the same tar stream"

# ---------------------------------------------------------------- --if-changed, unchanged
before=$(data_files "$out")
run_df -c "$M" volume snapshot "$vol" -o "$out" --if-changed
assert_eq 0 "$RC" "--if-changed on an unchanged volume"
assert_contains "$OUT" "is unchanged since $second" "the message names the newest snapshot"
assert_eq "$before" "$(data_files "$out")" "--if-changed wrote a file for an unchanged volume"
run_df -c "$M" volume snapshot "$vol" -o "$out" --if-changed --json
assert_eq 0 "$RC" "--if-changed --json on an unchanged volume"
assert_eq "true" "$(json_field unchanged)" "--json says unchanged"
assert_eq "$second" "$(json_field data_file)" "--json names the newest snapshot"
assert_eq "$before" "$(data_files "$out")" "--if-changed --json wrote a file"
[[ -z $(find "$out" -name '.dockform-tmp-*') ]] || fail "temporary files left: $(find "$out" -name '.dockform-tmp-*')"

# ---------------------------------------------------------------- --if-changed, changed
vol_exec "$vol" sh -c 'echo changed >> /v/keep/file'
run_df -c "$M" volume snapshot "$vol" -o "$out" --if-changed --json
assert_eq 0 "$RC" "--if-changed on a changed volume"
assert_eq "false" "$(json_field unchanged)" "a changed volume is written"
third=$(json_field data_file)
[[ -f $third && $third != "$second" ]] || fail "no new snapshot for a changed volume: $third"

# A newest snapshot of the older kind (tar_sha256, no index): a snapshot too
# many, never one too few.
python3 - "${third%.tar.zst}.json" "$(zstd -dc "$third" | sha256sum | cut -c1-64)" <<'PY'
import json, sys
path, tar = sys.argv[1:3]
sidecar = json.load(open(path))
del sidecar["index_sha256"]
sidecar["tar_sha256"] = tar
json.dump(sidecar, open(path, "w"), indent=2)
PY
sleep 1
run_df -c "$M" volume snapshot "$vol" -o "$out" --if-changed --json
assert_eq 0 "$RC" "--if-changed after a snapshot without an index"
assert_eq "false" "$(json_field unchanged)" "a newest snapshot without an index counts as changed"

# ---------------------------------------------------------------- --exclude
run_df -c "$M" volume snapshot "$vol" -o "$out" --exclude app/cache --exclude '**/*.log' --json
assert_eq 0 "$RC" "snapshot with --exclude"
ex=$(json_field data_file)
assert_eq '["app/cache", "**/*.log"]' "$(json_field sidecar.excludes)" "the sidecar lists the patterns"
listing=$(tar --zstd -tf "$ex" | sort)
for gone in ./app/cache/ ./app/cache/deep/blob ./logs/a.log ./logs/old/b.log; do
  if grep -qxF "$gone" <<<"$listing"; then fail "$gone is in a snapshot that excludes it: $listing"; fi
done
for kept in ./app/config ./logs/notes.txt ./logs/old/ ./keep/file; do
  grep -qxF "$kept" <<<"$listing" || fail "$kept is missing from the snapshot: $listing"
done
# Like with like: the newest snapshot was made with these excludes.
run_df -c "$M" volume snapshot "$vol" -o "$out" --exclude app/cache --exclude '**/*.log' --if-changed --json
assert_eq 0 "$RC" "--if-changed with the same excludes"
assert_eq "true" "$(json_field unchanged)" "same content, same excludes: unchanged"
run_df -c "$M" volume snapshot "$vol" -o "$out" --if-changed --json
assert_eq 0 "$RC" "--if-changed without the excludes"
assert_eq "false" "$(json_field unchanged)" "other excludes than the newest snapshot's: written"

# ---------------------------------------------------------------- the manifest's exclude
printf 'docker:\n  identifier: ifchanged\nvolumes:\n  %s:\n    exclude: ["logs"]\n' "$vol" >"$M/dockform.yml"
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/m" --exclude 'app/*' --json
assert_eq 0 "$RC" "snapshot with the manifest's exclude"
assert_eq '["logs", "app/*"]' "$(json_field sidecar.excludes)" "the manifest's patterns, then --exclude's"
listing=$(tar --zstd -tf "$(json_field data_file)" | sort)
assert_eq "$(printf './\n./app/\n./keep/\n./keep/file')" "$listing" "what the manifest and --exclude leave"
printf 'docker:\n  identifier: ifchanged\nvolumes:\n  %s:\n    exclude: logs\n' "$vol" >"$M/dockform.yml"
run_df -c "$M" volume snapshot "$vol" -o "$TEST_TMP/m"
assert_eq 5 "$RC" "an exclude that is not a list is a manifest error"
assert_contains "$ERR" "exclude: expected a list of strings" "the manifest error names the key"
write_manifest "$M" ifchanged "$vol"

pass
