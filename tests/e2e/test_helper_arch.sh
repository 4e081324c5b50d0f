#!/usr/bin/env bash
# A dockform-helper built for another architecture than the engine's
# (DOCKFORM_HELPER_BINARY names a copy of build/dockform-helper whose ELF
# e_machine says arm64, or amd64 on an arm64 engine) is refused before any
# container exists: `volume snapshot` and `volume restore` end with exit 3 and an
# error naming the engine's os/arch, the helper's architecture and
# DOCKFORM_HELPER_BINARY, with the built-in image and with --helper-image. The
# snapshot writes nothing, the restore leaves the target volume untouched, and
# no container (helper or lock) nor helper image is left.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

helper=$(dirname "$DOCKFORM")/dockform-helper
[[ -x $helper ]] || fail "$helper is missing (it is built beside dockform)"

engine_os=$(engine version --format '{{.Server.Os}}')
engine_arch=$(engine version --format '{{.Server.Arch}}')
[[ -n $engine_os && -n $engine_arch ]] || fail "the engine did not say its os/arch: [$engine_os/$engine_arch]"
# The ELF machine number of another architecture than the engine's.
if [[ $engine_arch == arm64 ]]; then
  other_arch=amd64 machine='\076\000' # 62
else
  other_arch=arm64 machine='\267\000' # 183
fi

foreign=$TEST_TMP/dockform-helper-$other_arch
cp "$helper" "$foreign"
# shellcheck disable=SC2059 # the format holds the octal escapes on purpose
printf "$machine" | dd of="$foreign" bs=1 seek=18 count=2 conv=notrunc 2>/dev/null
patched=$(od -An -tu1 -j18 -N2 "$foreign" | tr -s ' ')
[[ $patched == " 62 0" || $patched == " 183 0" ]] || fail "patching e_machine of $foreign gave [$patched]"
foreign_sha12=$(sha256sum "$foreign" | cut -c1-12)

src=${PFX}src
dst=${PFX}dst
proj=$TEST_TMP/proj
write_manifest "$proj" helperarch "$src" "$dst"
engine volume create "$src" >/dev/null
engine volume create "$dst" >/dev/null
fill_tricky "$src"
src_before=$(tree_listing "$src")
dst_before=$(tree_listing "$dst")

# A valid snapshot, made with the real helper, for the restore below.
run_df -c "$proj" volume snapshot "$src" -o "$TEST_TMP/good" --json
assert_eq 0 "$RC" "snapshot of $src with the real helper"
snap=$(json_field data_file)
snap_sha=$(sha256sum "$snap" | cut -c1-64)
# This test's containers only: other tests run beside it on the same engine.
# Helpers carry the volume's label; the lock and its lease carry its name.
ours() {
  local v
  for v in "$src" "$dst"; do
    engine ps -aq --filter "label=io.dockform.volume=$v"
    engine ps -aq --filter "name=$v"
  done | sort -u
}
containers_before=$(ours)

# check_refused WHAT: the last run was refused for the helper's architecture,
# and left no container and no helper image made from the foreign binary.
check_refused() {
  local what=$1
  assert_eq 3 "$RC" "$what: exit code (3: refused)"
  assert_contains "$ERR" "$engine_os/$engine_arch" "$what: the error names the engine's os/arch"
  assert_contains "$ERR" "linux/$other_arch" "$what: the error names the helper's architecture"
  assert_contains "$ERR" "DOCKFORM_HELPER_BINARY" "$what: the error says how to name another helper"
  assert_contains "$ERR" "$foreign" "$what: the error names the helper binary"
  assert_eq "$containers_before" "$(ours)" "$what: containers of this test's volumes after the refusal"
  local images
  images=$(engine images --format '{{.Repository}}:{{.Tag}}')
  assert_not_contains "$images" "$foreign_sha12" "$what: a helper image made from the foreign binary"
}

for flags in "" "--helper-image $DOCKFORM_TEST_BUSYBOX_IMAGE"; do
  what="snapshot${flags:+ with $flags}"
  # shellcheck disable=SC2086 # $flags: none, or a flag and its value
  DOCKFORM_HELPER_BINARY=$foreign run_df -c "$proj" $flags volume snapshot "$src" -o "$TEST_TMP/out"
  check_refused "$what"
  written=$(find "$TEST_TMP/out" -mindepth 1 2>/dev/null || true)
  assert_eq "" "$written" "$what: files written into the output folder"
  assert_volume_untouched "$src" "$src_before" "$what"

  what="restore${flags:+ with $flags}"
  # shellcheck disable=SC2086
  DOCKFORM_HELPER_BINARY=$foreign run_df -c "$proj" $flags volume restore "$dst" "$snap"
  check_refused "$what"
  assert_volume_untouched "$dst" "$dst_before" "$what"
  assert_eq "$snap_sha" "$(sha256sum "$snap" | cut -c1-64)" "$what: the snapshot file is unchanged"
done

# The same restore with the real helper works (the refusal was the binary's doing).
run_df -c "$proj" volume restore "$dst" "$snap"
assert_eq 0 "$RC" "restore with the real helper"
assert_eq "$src_before" "$(tree_listing "$dst")" "the volume restored with the real helper"

pass
