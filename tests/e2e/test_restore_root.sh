#!/usr/bin/env bash
# The volume root across a restore, and names at the root that only look
# like dockform's own.
# - An archive without a root member (`tar -C dir -cf - a b | zstd`): the
#   volume root keeps its owner (1000:1000), mode (0750), user.* xattr and
#   ACL, so a non-root service can still open its volume. An archive with a
#   root member still gives the root that member's owner and mode.
# - A user's file `.dockform-old-notes.txt` (and `.dockform-restore-notes.d`,
#   `.dockform-swap-notes.txt`) at the root are the user's: a snapshot leaves
#   them and archives them, a refused restore (the volume is not empty) leaves
#   them, and a restore of that snapshot brings them back. Only dockform's own
#   names (a prefix and a run's ID) are recovered or removed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd tar
GNUTAR=$DOCKFORM_TEST_GNUTAR_IMAGE
vol=${PFX}root
look=${PFX}look
back=${PFX}back
S=$TEST_TMP/snaps
manifest_and_volumes restoreroot "$vol" "$look" "$back"

# gnu VOLUME CMD...: CMD in the GNU tar image (setfattr, getfacl) with VOLUME at /v.
gnu() {
  local v=$1
  shift
  engine run --rm --network none --log-driver none -v "$v:/v" "$GNUTAR" "$@"
}
# root_state VOLUME: the root's owner and mode, its user.* xattrs and its ACL (numeric).
root_state() {
  gnu "$1" sh -c 'stat -c "%u:%g %a" /v; getfattr -d -m "^user\." /v 2>&1 | grep -v "^#" | grep .;
    getfacl -n -p /v 2>&1 | grep -v "^#" | grep .' || fail "reading the root of $1"
}

probe=$(gnu "$vol" sh -c 'setfattr -n user.probe -v 1 /v 2>&1 && setfacl -m u:1:r /v 2>&1 &&
  setfattr -x user.probe /v && setfacl -b /v && echo supported' 2>&1) || true
[[ $probe == *supported ]] ||
  fail "the volume filesystem refuses user.* xattrs or ACLs ($probe); nothing here can be checked"

# --- An archive without a root member keeps the root's metadata. ---
gnu "$vol" sh -euc 'echo old > /v/old; chown 1000:1000 /v; chmod 0750 /v
  setfattr -n user.service -v mine /v; setfacl -m u:1001:rx /v' || fail "preparing the root of $vol"
before=$(root_state "$vol")
for needle in "1000:1000 750" 'user.service="mine"' "user:1001:r-x"; do
  assert_contains "$before" "$needle" "the root before the restore (the fixture did not take)"
done
src=$TEST_TMP/src
mkdir -p "$src/alpha" "$src/beta"
echo one >"$src/alpha/one"
echo two >"$src/beta/two"
chmod 0700 "$src" # what the root would get if the staging folder's mode were copied
mkdir -p "$S"
tar --numeric-owner -C "$src" -cf - alpha beta | zstd -q >"$S/noroot.tar.zst"
assert_eq "alpha/" "$(zstd -dc "$S/noroot.tar.zst" | tar -tf - | head -1)" "the first member (no root member)"
run_df -c "$M" volume restore "$vol" "$S/noroot.tar.zst" --force
assert_eq 0 "$RC" "restore of an archive without a root member"
after=$(root_state "$vol")
assert_same_lines "$before" "$after" "the root's owner, mode, xattrs or ACL changed"
assert_eq $'alpha\nbeta' "$(root_names "$vol")" "the content is the archive's"
assert_eq "two" "$(vol_exec "$vol" cat /v/beta/two)" "a restored file"
# A non-root service can still open its volume.
assert_eq "two" "$(engine run --rm --network none --log-driver none --user 1000:1000 -v "$vol:/v" \
  "$DOCKFORM_TEST_BUSYBOX_IMAGE" cat /v/beta/two)" "uid 1000 reads the volume after the restore"

# --- An archive with a root member sets the root from it. ---
chown 1234:4321 "$src"
chmod 0705 "$src"
tar --numeric-owner -C "$src" -cf - . | zstd -q >"$S/withroot.tar.zst"
assert_eq "./" "$(zstd -dc "$S/withroot.tar.zst" | tar -tf - | head -1)" "the first member (the root)"
run_df -c "$M" volume restore "$vol" "$S/withroot.tar.zst" --force
assert_eq 0 "$RC" "restore of an archive with a root member"
after=$(root_state "$vol")
assert_contains "$after" "1234:4321 705" "the root's owner and mode are the archive's"
assert_not_contains "$after" "user.service" "the root's xattrs are the archive's (none)"
assert_not_contains "$after" "user:1001" "the root's ACL is the archive's (none)"

# --- Names that only look like dockform's are the user's. ---
vol_exec "$look" sh -euc 'cd /v; echo "my notes" > .dockform-old-notes.txt
  mkdir .dockform-restore-notes.d; echo kept > .dockform-restore-notes.d/f
  printf "3\n" > .dockform-swap-notes.txt; echo data > data' || fail "filling $look"
want=$(tree_listing "$look")
run_df -c "$M" volume snapshot "$look" -o "$S" --json
assert_eq 0 "$RC" "snapshot of a volume with files named like dockform's"
assert_not_contains "$ERR" "interrupted restore" "no restore recovery for the user's files"
assert_eq "$want" "$(tree_listing "$look")" "the volume after the snapshot"
snap=$(json_field data_file)
members=$(zstd -dc "$snap" | tar -tf -)
for name in ./.dockform-old-notes.txt ./.dockform-restore-notes.d/f ./.dockform-swap-notes.txt; do
  grep -qxF "$name" <<<"$members" || fail "$name is not in the snapshot: $members"
done
# Refused (the volume is not empty): its preparation leaves the user's files.
run_df -c "$M" volume restore "$look" "$snap"
assert_eq 3 "$RC" "restore into the non-empty volume without --force"
assert_eq "$want" "$(tree_listing "$look")" "the volume after the refused restore"
# Restored into another volume: the user's files come back.
run_df -c "$M" volume restore "$back" "$snap" --json
assert_eq 0 "$RC" "restore of the snapshot with files named like dockform's"
assert_eq "$want" "$(tree_listing "$back")" "the restored volume"
# Restored over them (--force): the new ones replace the old ones.
vol_exec "$look" sh -c 'echo "changed" > /v/.dockform-old-notes.txt' || fail "changing the notes"
run_df -c "$M" volume restore "$look" "$snap" --force
assert_eq 0 "$RC" "restore --force over files named like dockform's"
assert_eq "$want" "$(tree_listing "$look")" "the volume after restore --force"
assert_eq $'.dockform-old-notes.txt\n.dockform-restore-notes.d\n.dockform-swap-notes.txt\ndata' \
  "$(root_names "$look")" "the names at the root after the restores"

pass
