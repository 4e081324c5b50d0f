#!/usr/bin/env bash
# stages: sanitize podman
# transports: attach
# volume restore: a snapshot of fill_tricky restored into an empty declared volume
# gives the same tree (volume root mode and owner included), --json reports it,
# and a non-empty volume is only replaced with --force, then holding exactly the
# snapshot (old files and old dotfiles gone, no .dockform-* staging left).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dst=${PFX}dst
full=${PFX}full
tricky_source restoretest "$dst" "$full"

assert_no_staging() { # VOLUME
  local names
  names=$(root_names "$1")
  assert_not_contains "$names" ".dockform-" "no .dockform-* entry may remain at the root of $1"
}

assert_contains "$want" "D|.|750|0:0" "fill_tricky sets the source root to 750"
# Paths, not lines: fill_tricky has a file name holding a newline.
want_files=$(vol_exec "$src" sh -c 'find /v -type f -print0 | tr -cd "\\0" | wc -c')

snapshot_of "$src"
sidecar=${snap%.tar.zst}.json
assert_file_exists "$snap" "snapshot data file"
assert_file_exists "$sidecar" "snapshot sidecar"
sha=$(sha256sum "$snap" | cut -c1-64)

# --- 1. Round trip into an empty volume, with --json. ---
run_df -c "$M" volume restore "$dst" "$snap" --json
assert_eq 0 "$RC" "restore into the empty volume $dst"
assert_tree_is "$dst" "$want" "tree of $dst after restore differs from the source's"
assert_eq "\"$dst\"" "$(json_field --json volume)" "--json volume"
assert_eq "true" "$(json_field --json checksum_verified)" "--json checksum_verified"
assert_eq "\"$sha\"" "$(json_field --json checksum)" "--json checksum is the sha256 of the file"
assert_eq "$want_files" "$(json_field --json file_count)" "--json file_count (find -type f in the source)"
assert_eq "[]" "$(json_field --json containers_stopped)" "--json containers_stopped"
assert_eq "[]" "$(json_field --json containers_started)" "--json containers_started"
assert_eq "[]" "$(json_field --json recovered)" "--json recovered (nothing was interrupted)"
assert_eq "\"$sidecar\"" "$(json_field --json sidecar)" "--json sidecar path"
assert_eq "$(json_field uncompressed_bytes "$sidecar")" \
  "$(json_field --json uncompressed_bytes)" "--json uncompressed_bytes equals the sidecar's"
assert_contains "$(json_field --json warnings)" "taken of volume $src" "restoring into another volume warns about the name"
assert_no_staging "$dst"

# --- 2. A non-empty volume is refused without --force. ---
vol_exec "$full" sh -euc '
  cd /v
  echo old-dot > .old-dot
  echo old > old-file
  mkdir -p old-dir/sub && echo deep > old-dir/sub/x
  echo "old version" > .dotfile
  ln -s old-file old-link
  chmod 700 /v
'
before=$(tree_listing "$full")
run_df -c "$M" volume restore "$full" "$snap"
assert_eq 3 "$RC" "restore into a non-empty volume without --force"
assert_contains "$ERR" "--force" "the refusal names --force"
assert_contains "$ERR" "not empty" "the refusal says the volume is not empty"
assert_eq "$before" "$(tree_listing "$full")" "a refused restore leaves the volume unchanged"
assert_no_staging "$full"

# With --force the volume holds exactly the snapshot.
run_df -c "$M" volume restore "$full" "$snap" --force
assert_eq 0 "$RC" "restore --force into the non-empty volume"
assert_contains "$OUT" "checksum verified" "text output reports the verified checksum"
assert_tree_is "$full" "$want" "tree of $full after restore --force differs from the source's"
names=$(root_names "$full")
for gone in .old-dot old-file old-dir old-link; do
  grep -qxF "$gone" <<<"$names" && fail "$gone from the old content survived restore --force"
done
assert_eq "dot" "$(vol_exec "$full" cat /v/.dotfile)" ".dotfile holds the snapshot's content, not the old one"
assert_no_staging "$full"

# A second --force restore over identical content is still exact (idempotent).
run_df -c "$M" volume restore "$full" "$snap" --force
assert_eq 0 "$RC" "second restore --force"
assert_eq "$want" "$(tree_listing "$full")" "tree after a second restore --force"
assert_no_staging "$full"

pass
