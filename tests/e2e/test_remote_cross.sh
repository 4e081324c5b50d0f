#!/usr/bin/env bash
# A snapshot taken over ssh restores over TLS into the same bytes; the Docker
# CLI context store (written by `docker context create`) names both ends.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote.sh"

src=${PFX}src
dst=${PFX}dst
write_manifest "$TEST_TMP/from" cross "$src"
write_manifest "$TEST_TMP/to" cross "$dst"
# Each side names its context in its manifest, as for a migration.
sed -i 's/^docker:$/docker:\n  context: dfssh/' "$TEST_TMP/from/dockform.yml"
sed -i 's/^docker:$/docker:\n  context: dftls/' "$TEST_TMP/to/dockform.yml"
export DOCKER_CONFIG=$DOCKFORM_TEST_REMOTE_DOCKER_CONFIG
export DOCKFORM_SSH_OPTS="-F $SSH_CONFIG"
engine volume create "$src" >/dev/null
engine volume create "$dst" >/dev/null
fill_tricky "$src"
want=$(tree_listing "$src")

run_df -c "$TEST_TMP/from" version --json
assert_contains "$OUT" '"transport": "ssh"' "the source manifest's context is ssh"
run_df -c "$TEST_TMP/from" volume snapshot "$src" -o "$TEST_TMP/snaps" --json
assert_eq 0 "$RC" "snapshot over ssh (context dfssh)"
snap=$(json_field data_file)

run_df -c "$TEST_TMP/to" version --json
assert_contains "$OUT" '"transport": "tcp+tls"' "the target manifest's context is TLS"
run_df -c "$TEST_TMP/to" volume restore "$dst" "$snap"
assert_eq 0 "$RC" "restore over TLS (context dftls)"
assert_eq "$want" "$(tree_listing "$dst")" "the tree restored over TLS is the one snapshotted over ssh"
assert_no_ssh_left
assert_no_helper_left "$src" "$dst"
pass
