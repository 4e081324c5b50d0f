#!/usr/bin/env bash
# The Debian package as a user gets it: a clean Debian 12 root made with
# mmdebstrap (Debian packages only, --variant=apt), the package installed there
# with `apt-get install ./dockform_*.deb`, then from inside that root (a chroot
# in a private mount and PID namespace, the private engine's socket bound in):
# --version, a snapshot and restore round trip through the helper image made
# from the installed helper, the systemd service's own commands with the
# manifest's retention, `man -w`, the bash completion, and `dpkg -r` leaving
# only what the user made. The units are checked with systemd-analyze verify.
# Nothing of the build tree is visible inside.
#
# Needs root, mmdebstrap and Debian's mirrors. DOCKFORM_TEST_DEB names the
# package (scripts/test makes it with scripts/package); without it, or with
# DOCKFORM_TEST_PACKAGE=0, the test is skipped (exit 77).
# DOCKFORM_TEST_DEBIAN_MIRROR: another mirror (default: mmdebstrap's, deb.debian.org).
# The Debian packages downloaded are kept for the next run in
# DOCKFORM_TEST_DEBIAN_CACHE (default: debian-cache/ beside the package);
# apt checks them against the mirror's signed lists as if just downloaded.
set -euo pipefail
if [[ ${DOCKFORM_TEST_PACKAGE:-1} == 0 ]]; then
  echo "SKIP: DOCKFORM_TEST_PACKAGE=0"
  exit 77
fi
if [[ -z ${DOCKFORM_TEST_DEB:-} ]]; then
  echo "SKIP: DOCKFORM_TEST_DEB is not set (scripts/test sets it to the package scripts/package makes)"
  exit 77
fi
if ((EUID != 0)) || ! command -v mmdebstrap >/dev/null; then
  echo "SKIP: needs root and mmdebstrap (scripts/install-deps test)"
  exit 77
fi
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/fixtures.sh"

deb=$(readlink -f "$DOCKFORM_TEST_DEB")
[[ -f $deb ]] || fail "DOCKFORM_TEST_DEB=$DOCKFORM_TEST_DEB is not a file"
[[ ${DOCKFORM_TEST_ENGINE:-docker} == docker ]] || fail "the installed-package test runs against dockerd only"
[[ $DOCKER_HOST == unix://* ]] || fail "DOCKER_HOST=$DOCKER_HOST: a unix socket is needed to bind it into the root"
socket=${DOCKER_HOST#unix://}
version=$(dpkg-deb -f "$deb" Version)
root=$TEST_TMP/root

# --- a clean Debian 12 root with the package installed by apt-get
mirror=()
[[ -n ${DOCKFORM_TEST_DEBIAN_MIRROR:-} ]] && mirror=("$DOCKFORM_TEST_DEBIAN_MIRROR")
cache=${DOCKFORM_TEST_DEBIAN_CACHE:-$(dirname "$deb")/debian-cache}
mkdir -p "$cache"
started=$SECONDS
# man-db and bash-completion: what a user reads the man page and completes
# with. Recommends (an engine) are not installed: the test's engine is outside.
# essential/unlink skipped: the essential packages' files stay in the cache.
mmdebstrap --quiet --variant=apt --include=man-db,bash-completion --skip=essential/unlink \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
  --setup-hook="sync-in $cache /var/cache/apt/archives" \
  --customize-hook="copy-in $deb /tmp" \
  --customize-hook="chroot \"\$1\" sh -c 'cd /tmp && apt-get install -y --no-install-recommends ./$(basename "$deb")'" \
  --customize-hook='chroot "$1" dpkg-query -L dockform > "$1/root/dockform.list"' \
  --customize-hook="sync-out /var/cache/apt/archives $cache" \
  bookworm "$root" "${mirror[@]}" >"$TEST_TMP/mmdebstrap.log" 2>&1 ||
  { tail -n 30 "$TEST_TMP/mmdebstrap.log" >&2 && fail "mmdebstrap or the package's installation failed"; }
echo "package: Debian 12 root with the package installed in $((SECONDS - started)) s"

# --- the checks inside: a chroot in a private mount and PID namespace (mounts end with it)
# inside SCRIPT: runs the bash SCRIPT in the root as root, the engine at /run/docker.sock.
inside() {
  unshare --mount --pid --fork --propagation private bash -euc '
    root=$1 socket=$2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"
    touch "$root/run/docker.sock"
    mount --bind "$socket" "$root/run/docker.sock"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DOCKER_HOST=unix:///run/docker.sock /bin/bash -euo pipefail -c "$3"
  ' inside "$root" "$socket" "$1"
}

OUT=$(inside 'dockform --version') || fail "dockform --version in the root"
assert_eq "dockform $version" "$OUT" "--version prints the package's version on one line"
OUT=$(inside 'dockform version') || fail "dockform version in the root"
assert_eq "dockform $version" "$(head -n 1 <<<"$OUT")" "version starts with the --version line"
assert_contains "$OUT" "engine " "version reaches the engine through the bound socket"

# Nothing of the build tree: no source folder, no build folder, only the installed binaries.
OUT=$(inside "test ! -e '$DOCKFORM_SOURCE_DIR' && test ! -e '$(dirname "$DOCKFORM")' && command -v dockform &&
  ls /usr/libexec/dockform") || fail "the build tree is visible in the root: $OUT"
assert_eq $'/usr/bin/dockform\ndockform-helper' "$OUT" "dockform and its helper as installed"

OUT=$(inside 'man -w dockform') || fail "man -w dockform: $OUT"
assert_eq /usr/share/man/man1/dockform.1.gz "$OUT" "man -w dockform"
OUT=$(inside 'man dockform 2>&1 | head -n 5') || fail "man dockform"
assert_contains "$OUT" "dockform" "the man page renders"

# The completion loads (as bash-completion does, on demand) and completes.
OUT=$(inside 'source /usr/share/bash-completion/bash_completion
  __load_completion dockform
  complete -p dockform
  COMP_WORDS=(dockform volume sn); COMP_CWORD=2; COMP_LINE="dockform volume sn"; COMP_POINT=${#COMP_LINE}
  _dockform dockform sn volume
  printf "%s\n" "${COMPREPLY[@]}"') || fail "the completion does not load: $OUT"
assert_contains "$OUT" "complete -F _dockform dockform" "the completion is registered"
assert_contains "$OUT" "snapshot" "volume sn<TAB> completes to snapshot"

# --- a snapshot and a restore round trip, then the timer's service commands
src=${PFX}src dst=${PFX}dst
engine volume create "$src" >/dev/null
engine volume create "$dst" >/dev/null
fill_known "$src"
mkdir -p "$root/etc/dockform"
cat >"$root/etc/dockform/pkgtest.yml" <<YAML
docker:
  identifier: pkgtest
volumes:
  $src: {}
  $dst: {}
snapshots:
  destination: /var/backups/dockform
  keep: {last: 1}
YAML
OUT=$(inside "dockform -c /etc/dockform/pkgtest.yml volume snapshot $src --json") || fail "snapshot in the root: $OUT"
snap=$(json_field data_file)
[[ $snap == /var/backups/dockform/$src/* ]] || fail "the snapshot is not under snapshots.destination: $snap"
assert_file_exists "$root$snap" "the snapshot file"
OUT=$(inside "dockform -c /etc/dockform/pkgtest.yml volume restore $dst $snap") || fail "restore in the root: $OUT"
assert_eq "$(tree_listing "$src")" "$(tree_listing "$dst")" "the restored volume equals the snapshotted one"

# (mmdebstrap empties /tmp at its end: the package's file list is kept in /root.)
# The service's ExecStart lines, as systemd would run them for instance pkgtest.
mapfile -t commands < <(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/dockform-snapshot@.service" |
  sed 's/%i/pkgtest/g')
assert_eq 2 "${#commands[@]}" "the service runs snapshot --all and prune --all"
for command in "${commands[@]}"; do
  OUT=$(inside "$command") || fail "the service's command failed: $command: $OUT"
done
assert_contains "$OUT" "1 kept, 1 removed" "prune --all keeps the manifest's keep.last 1 of $src's 2 snapshots"
assert_no_file "$root$snap" "the older snapshot, pruned"

# --- the units: systemd-analyze verify on the host (the root has no systemd),
# in a tree of the host's units with the package's files extracted over them,
# so that ExecStart's /usr/bin/dockform is the packaged one. Any remark fails
# (an unknown directive is only a warning, exit 0).
units=$TEST_TMP/units
mkdir -p "$units/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$units/usr/lib/systemd/"
dpkg-deb -x "$deb" "$units"
OUT=$(systemd-analyze verify --root="$units" --man=no dockform-snapshot@pkgtest.service \
  dockform-snapshot@pkgtest.timer 2>&1) || fail "systemd-analyze verify: $OUT"
[[ -z $OUT ]] || fail "systemd-analyze verify has remarks: $OUT"

# --- dpkg -r: the package's files go, what the user made stays
helper_sha=$(sha256sum "$root/usr/libexec/dockform/dockform-helper" | cut -c1-12)
OUT=$(inside 'dpkg -r dockform 2>&1; dpkg -s dockform 2>&1 || true')
assert_contains "$OUT" "is not installed" "dpkg -r removes the package (it has no conffiles to keep)"
left=()
while IFS= read -r path; do
  [[ -e $root$path || -L $root$path ]] || continue
  # Folders the package shares with others (usr, usr/share/man/...) stay.
  [[ -d $root$path && $path != */dockform && $path != */dockform/* ]] && continue
  left+=("$path")
done <"$root/root/dockform.list"
((${#left[@]} == 0)) || fail "dpkg -r left behind: ${left[*]}"
assert_file_exists "$root/etc/dockform/pkgtest.yml" "the user's manifest stays"
[[ -n $(files_under "$root/var/backups/dockform") ]] || fail "the user's snapshots stay"

# The helper image dockform made from the installed helper: docker rmi removes it (README, "Uninstall").
# Its tag: the version ('+' becomes '_') and the start of the helper's SHA-256.
image=dockform-helper:$(tr -c 'A-Za-z0-9_.\n-' _ <<<"$version")-$helper_sha
engine image inspect "$image" >/dev/null 2>&1 || fail "no helper image $image in the engine"
# The build folder's helper gives the same image when its bytes are the same:
# other tests may be using it then, and it stays.
if [[ $(sha256sum "$(dirname "$DOCKFORM")/dockform-helper" 2>/dev/null | cut -c1-12) != "$helper_sha" ]]; then
  engine rmi "$image" >/dev/null || fail "docker rmi $image"
  ! engine image inspect "$image" >/dev/null 2>&1 || fail "$image is still there after docker rmi"
fi
pass
