# shellcheck shell=bash
# Local test images, built with `docker import` or `podman import` (no image
# registry is reachable).
#
# Source this file, then:
#   dockform_build_test_images [busybox] [gnutar]   (both when no argument)
# in the engine named by DOCKER_HOST (a Podman service when DOCKFORM_TEST_ENGINE=podman,
# see engine_cli.sh). An image that already exists there is kept.
#
#   dockform-test/busybox:1  Debian's static /bin/busybox with a symlink per applet,
#                            /tmp (1777), /etc/passwd and /etc/group (root, nobody)
#   dockform-test/gnutar:1   the same plus GNU tar, zstd, getfattr/setfattr and
#                            getfacl/setfacl from the host with the libraries they
#                            load; `tar` is GNU tar, also inside `sh -c`
#
# Beware: Debian's static busybox shell runs its own applets before searching PATH,
# so in the busybox image `sh -c 'tar ...'` is busybox tar whatever PATH says. The
# gnutar image therefore uses dash as /bin/sh (busybox's shell stays at /bin/ash).

# shellcheck source=engine_cli.sh
source "$(dirname "${BASH_SOURCE[0]}")/engine_cli.sh"

DOCKFORM_TEST_BUSYBOX_IMAGE_NAME=dockform-test/busybox:1
DOCKFORM_TEST_GNUTAR_IMAGE_NAME=dockform-test/gnutar:1

_dockform_images_log() { printf 'images: %s\n' "$*" >&2; }

# Writes a busybox root filesystem into folder $1.
_dockform_busybox_rootfs() {
  local root=$1 bb applet
  bb=$(readlink -f /bin/busybox 2>/dev/null) || bb=""
  if [[ ! -x $bb ]]; then
    _dockform_images_log "/bin/busybox not found (install busybox-static)"
    return 1
  fi
  if ldd "$bb" >/dev/null 2>&1; then
    _dockform_images_log "$bb is dynamically linked; the busybox-static package is needed"
    return 1
  fi
  mkdir -p "$root"/{bin,sbin,etc,root,tmp,usr/bin,usr/sbin,var/tmp,dev,proc,sys} || return 1
  cp "$bb" "$root/bin/busybox" || return 1
  for applet in $("$bb" --list); do
    [[ $applet == busybox || -e $root/bin/$applet ]] && continue
    ln -s busybox "$root/bin/$applet" || return 1
  done
  ln -s ../../bin/busybox "$root/usr/bin/env" # for #!/usr/bin/env scripts
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
}

# Copies host program $1 into rootfs $2 at the same path, with every shared
# library ldd lists for it (the dynamic loader included), also at their paths.
_dockform_copy_program() {
  local prog=$1 root=$2 lib line
  if [[ ! -x $prog ]]; then
    _dockform_images_log "$prog not found (run scripts/install-deps)"
    return 1
  fi
  mkdir -p "$root$(dirname "$prog")" && cp -L "$prog" "$root$prog" || return 1
  while read -r line; do
    lib=""
    if [[ $line == *" => /"* ]]; then
      lib=${line#* => }
      lib=${lib%% *}
    elif [[ $line == /* ]]; then
      lib=${line%% *}
    fi
    [[ -n $lib ]] || continue
    if [[ ! -e $root$lib ]]; then
      mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" || return 1
    fi
  done < <(ldd "$prog" 2>/dev/null)
}

# Imports rootfs folder $1 as image $2.
_dockform_import_rootfs() {
  local root=$1 image=$2
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    engine import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'WORKDIR /' \
      --change 'CMD ["/bin/sh"]' \
      --message "dockform test image $image" \
      - "$image" >/dev/null
}

# Runs `$2...` in a throwaway container of image $1 (no network).
_dockform_image_run() {
  local image=$1
  shift
  engine run --rm --network none "$image" "$@"
}

_dockform_build_busybox_image() {
  local work=$1 image=$DOCKFORM_TEST_BUSYBOX_IMAGE_NAME out
  _dockform_busybox_rootfs "$work/busybox" || return 1
  _dockform_import_rootfs "$work/busybox" "$image" || return 1
  if ! out=$(_dockform_image_run "$image" sh -c 'echo ok; ls /bin/tar' 2>&1) ||
    [[ $out != ok*/bin/tar ]]; then
    _dockform_images_log "$image does not run a shell: $out"
    engine image rm -f "$image" >/dev/null 2>&1
    return 1
  fi
}

_dockform_build_gnutar_image() {
  local work=$1 image=$DOCKFORM_TEST_GNUTAR_IMAGE_NAME prog name out
  local root=$work/gnutar
  _dockform_busybox_rootfs "$root" || return 1
  for prog in /usr/bin/dash /usr/bin/tar /usr/bin/zstd /usr/bin/getfattr \
    /usr/bin/setfattr /usr/bin/getfacl /usr/bin/setfacl; do
    _dockform_copy_program "$prog" "$root" || return 1
    # Replace the busybox applet of the same name, if any, so that both
    # /bin/NAME and /usr/bin/NAME are the GNU program.
    name=${prog##*/}
    rm -f "$root/bin/$name"
    ln -s "../usr/bin/$name" "$root/bin/$name" || return 1
  done
  rm -f "$root/bin/sh" && ln -s ../usr/bin/dash "$root/bin/sh" || return 1
  _dockform_import_rootfs "$root" "$image" || return 1
  if ! out=$(_dockform_image_run "$image" tar --version 2>&1) || [[ $out != *"GNU tar"* ]] ||
    ! out=$(_dockform_image_run "$image" sh -c \
      'tar --version; /bin/tar --version; zstd --version; getfattr --version; getfacl --version' 2>&1) ||
    [[ $out != "tar (GNU tar)"*"tar (GNU tar)"*Zstandard*getfattr*getfacl* ]]; then
    _dockform_images_log "$image: the GNU tools do not run:"$'\n'"$out"
    engine image rm -f "$image" >/dev/null 2>&1
    return 1
  fi
}

dockform_build_test_images() {
  local -a which=("$@")
  ((${#which[@]} > 0)) || which=(busybox gnutar)
  if ! engine image ls -q >/dev/null 2>&1; then
    _dockform_images_log "no engine answers at ${DOCKER_HOST:-the default socket}"
    return 1
  fi
  local kind image id work rc=0
  work=$(mktemp -d /tmp/dfimg.XXXXXX) || return 1
  for kind in "${which[@]}"; do
    case $kind in
      busybox) image=$DOCKFORM_TEST_BUSYBOX_IMAGE_NAME ;;
      gnutar) image=$DOCKFORM_TEST_GNUTAR_IMAGE_NAME ;;
      *)
        _dockform_images_log "unknown test image '$kind' (busybox, gnutar)"
        rc=1
        break
        ;;
    esac
    if id=$(engine image inspect --format '{{.Id}}' "$image" 2>/dev/null); then
      echo "image $image: present (${id:7:12})"
      continue
    fi
    if ! "_dockform_build_${kind}_image" "$work"; then
      _dockform_images_log "building $image failed"
      rc=1
      break
    fi
    id=$(engine image inspect --format '{{.Id}}' "$image" 2>/dev/null) || id=""
    echo "image $image: built (${id:7:12})"
  done
  rm -rf "$work"
  return "$rc"
}
