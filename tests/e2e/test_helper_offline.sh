#!/usr/bin/env bash
# dockform works in an engine that holds no image at all and reaches no
# registry: the test starts a second private engine of its own
# (scripts/lib/engine.sh; the shared one is only used before, to make a
# snapshot) and builds no image there. `volume restore` of that snapshot into a
# new volume creates the built-in helper image itself (the time it took is
# printed), then `volume snapshot` of the restored volume gives an archive with
# the original's file listing, and the engine ends up holding the dockform-helper
# image only.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd
tar --version | grep -q 'GNU tar' || fail "the host's tar is not GNU tar"

src=${PFX}src
dst=${PFX}dst
proj=$TEST_TMP/proj
write_manifest "$proj" helperoffline "$src" "$dst"

# tar_listing FILE: the entries of a .tar.zst (type, mode, numeric owner, size,
# mtime, name), as GNU tar lists them.
tar_listing() {
  tar --zstd --numeric-owner -tvf "$1" || fail "listing $1"
}

# ---------------------------------------------------------------- the shared engine: a snapshot
engine volume create "$src" >/dev/null
vol_exec "$src" sh -euc '
  cd /v
  mkdir -p docs/nested empty
  echo hello > docs/nested/a.txt
  printf "%s\n" one two three > docs/b.txt
  dd if=/dev/urandom of=random.bin bs=64k count=4 2>/dev/null
  echo linked > hard-a && ln hard-a docs/hard-b
  ln -s docs/b.txt link
  echo owned > owned && chown 1234:5678 owned && chmod 640 owned
  touch -d "2001-02-03 04:05:06" owned docs
  chmod 750 /v' || fail "filling $src"
run_df -c "$proj" volume snapshot "$src" -o "$TEST_TMP/shared" --json
assert_eq 0 "$RC" "snapshot of $src in the shared engine"
snap=$(json_field data_file)
assert_file_exists "$snap" "snapshot data file"
want=$(tar_listing "$snap")
assert_contains "$want" "docs/nested/a.txt" "the snapshot's listing"
assert_contains "$want" "1234/5678" "the snapshot's listing (numeric owner of owned)"

# ---------------------------------------------------------------- a fresh engine without images
on_fault_exit() { second_engine_stop; }
fault_trap
second_engine_start
images=$(engine images -a --format '{{.Repository}}:{{.Tag}}')
assert_eq "" "$images" "images in the fresh engine before dockform ran"

engine volume create "$dst" >/dev/null
run_df -c "$proj" volume restore "$dst" "$snap" --json
assert_eq 0 "$RC" "restore into $dst in the engine without images"
created=$(grep -o 'helper image [^ ]* created in [0-9.]* s' <<<"$ERR") ||
  fail "the restore did not log the creation of the helper image (\"helper image ... created in X s\")"
echo "image creation: $created"
assert_contains "$ERR" "creating helper image dockform-helper:" "the restore created the built-in helper image"

run_df -c "$proj" volume snapshot "$dst" -o "$TEST_TMP/fresh" --json
assert_eq 0 "$RC" "snapshot of $dst in the fresh engine"
assert_not_contains "$ERR" "creating helper image" "the second command reuses the helper image"
snap2=$(json_field data_file)
assert_file_exists "$snap2" "snapshot data file in the fresh engine"
got=$(tar_listing "$snap2")
if [[ $got != "$want" ]]; then
  diff <(echo "$want") <(echo "$got") >&2 || true
  fail "the fresh engine's snapshot of the restored volume lists other entries than the original (diff above)"
fi

repos=$(engine images -a --format '{{.Repository}}' | sort -u)
assert_eq "dockform-helper" "$repos" "the only image in the fresh engine"
left=$(settled engine ps -aq)
assert_eq "" "$left" "containers left in the fresh engine"

pass
