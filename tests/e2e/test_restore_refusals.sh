#!/usr/bin/env bash
# volume restore refuses, before touching anything: a volume the manifest does
# not declare, a declared volume missing from the engine (not created by the
# restore), and a volume without room for the staged copy (tmpfs of 8 MB, a
# snapshot of ~20 MB: exit 3, "not enough space", with how much is needed and free).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=${PFX}src
undeclared=${PFX}undeclared
missing=${PFX}missing
small=${PFX}small
M=$TEST_TMP/manifest
write_manifest "$M" restoretest "$src" "$missing" "$small"
engine volume create "$src" >/dev/null
engine volume create "$undeclared" >/dev/null

vol_exec "$src" sh -euc '
  dd if=/dev/urandom of=/v/random-20m.bin bs=1M count=20 2>/dev/null
  echo small > /v/small.txt
'
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/snaps" --json
assert_eq 0 "$RC" "snapshot of $src"
snap=$(json_field data_file)
tar_bytes=$(json_field uncompressed_bytes "${snap%.tar.zst}.json")
((tar_bytes > 20 * 1024 * 1024)) || fail "the snapshot holds only $tar_bytes tar bytes"

# --- Undeclared: exists in the engine, not in the manifest. ---
vol_exec "$undeclared" sh -c 'echo keep > /v/keep.txt'
before=$(tree_listing "$undeclared")
run_df -c "$M" volume restore "$undeclared" "$snap" --force
((RC != 0)) || fail "restore into an undeclared volume succeeded"
assert_contains "$ERR" "not defined in manifest" "undeclared volume message"
assert_contains "$ERR" "$undeclared" "the message names the volume"
assert_eq "$before" "$(tree_listing "$undeclared")" "the undeclared volume is unchanged"
# Also when it is empty: declaration is required, not only for --force.
engine volume create "${PFX}undeclared_empty" >/dev/null
run_df -c "$M" volume restore "${PFX}undeclared_empty" "$snap"
((RC != 0)) || fail "restore into an empty undeclared volume succeeded"
assert_contains "$ERR" "not defined in manifest" "empty undeclared volume message"
assert_eq "" "$(vol_exec "${PFX}undeclared_empty" ls -A /v)" "the empty undeclared volume stays empty"

# --- Declared but missing in the engine. ---
run_df -c "$M" volume restore "$missing" "$snap"
((RC != 0)) || fail "restore into a missing volume succeeded"
assert_contains "$ERR" "not found in the engine (the manifest declares it" "missing volume message"
assert_contains "$ERR" "$missing" "the message names the volume"
engine volume inspect "$missing" >/dev/null 2>&1 && fail "restore created the missing volume $missing"

# --- Not enough room: tmpfs volume of 8 MB, snapshot of ~20 MB. ---
# nr_blocks (4 KiB pages), not size=: Podman 4.3 takes size= for a quota and refuses it.
engine volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=nr_blocks=2048 "$small" >/dev/null
vol_exec "$small" sh -euc 'echo present > /v/present.txt; mkdir /v/d; echo x > /v/d/x'
free_kb=$(vol_exec "$small" df -Pk /v | awk 'NR==2 { print $4 }')
((free_kb < 9 * 1024)) || fail "the tmpfs volume $small has $free_kb KiB free (expected about 8 MiB)"
before=$(tree_listing "$small")
run_df -c "$M" volume restore "$small" "$snap" --force
assert_eq 3 "$RC" "restore into a volume without room"
assert_contains "$ERR" "not enough space" "room message"
assert_contains "$ERR" "needs" "the message says how much is needed"
assert_contains "$ERR" "free" "the message says how much is free"
assert_contains "$ERR" "$small" "the message names the volume"
assert_eq "$before" "$(tree_listing "$small")" "the small volume is unchanged"
names=$(vol_exec "$small" ls -a /v)
assert_not_contains "$names" ".dockform-" "no staging left in the small volume"

# Without --force a non-empty volume is refused first, also with exit 3.
run_df -c "$M" volume restore "$small" "$snap"
assert_eq 3 "$RC" "non-empty small volume without --force"
assert_eq "$before" "$(tree_listing "$small")" "the small volume is unchanged (no --force)"

pass
