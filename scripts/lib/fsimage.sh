# shellcheck shell=bash
# A fresh filesystem for benchmarks: an image file on a loop device, made and
# mounted for one run, gone after it.
#
# Source this file, then:
#   dockform_fsimage_attach FS [GIB]   make an image of GIB GiB (default 12;
#                 allocated up front with fallocate, so the host filesystem
#                 allocates nothing during the run) in a folder made by
#                 `mktemp -d /var/tmp/dfi.XXXXXX`, attach it to a free loop
#                 device (direct I/O: no second page cache on the host's file),
#                 make FS on it (ext4, with a journal and its inode tables and
#                 journal written now rather than by a background thread
#                 during the run, or xfs) and mount it on the folder's mnt/.
#                 Sets DOCKFORM_FSIMAGE_MNT.
#   dockform_fsimage_detach   unmount, detach the loop device and delete the
#                 folder (idempotent, safe in an EXIT trap; only what attach made)
# Needs root, losetup, mkfs.ext4 and, for xfs, mkfs.xfs (xfsprogs).

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" # dockform_need_tools, dockform_need_root

DOCKFORM_FSIMAGE_DIR=${DOCKFORM_FSIMAGE_DIR:-}
DOCKFORM_FSIMAGE_LOOP=${DOCKFORM_FSIMAGE_LOOP:-}
DOCKFORM_FSIMAGE_MNT=${DOCKFORM_FSIMAGE_MNT:-}

_dockform_fsimage_log() { printf 'fsimage: %s\n' "$*" >&2; }

dockform_fsimage_attach() {
  local fs=$1 gib=${2:-12} dir loop
  if [[ -n $DOCKFORM_FSIMAGE_DIR ]]; then
    _dockform_fsimage_log "an image is already attached in $DOCKFORM_FSIMAGE_DIR"
    return 1
  fi
  case $fs in
  ext4) dockform_need_tools _dockform_fsimage_log losetup mkfs.ext4 || return 1 ;;
  xfs) dockform_need_tools _dockform_fsimage_log losetup mkfs.xfs || return 1 ;;
  *)
    _dockform_fsimage_log "unknown filesystem '$fs' (ext4 or xfs)"
    return 1
    ;;
  esac
  dockform_need_root _dockform_fsimage_log "a loop device" || return 1
  dir=$(mktemp -d /var/tmp/dfi.XXXXXX) || return 1
  DOCKFORM_FSIMAGE_DIR=$dir
  mkdir "$dir/mnt"
  fallocate -l "${gib}G" "$dir/image" || return 1
  loop=$(losetup --find --show --direct-io=on "$dir/image") || return 1
  DOCKFORM_FSIMAGE_LOOP=$loop
  if [[ $fs == ext4 ]]; then
    mkfs.ext4 -q -F -O has_journal -E lazy_itable_init=0,lazy_journal_init=0 "$loop" || return 1
  else
    mkfs.xfs -q -f "$loop" || return 1
  fi
  mount "$loop" "$dir/mnt" || return 1
  DOCKFORM_FSIMAGE_MNT=$dir/mnt
  _dockform_fsimage_log "$fs on $loop (${gib} GiB) mounted on $dir/mnt"
}

dockform_fsimage_detach() {
  local dir=${DOCKFORM_FSIMAGE_DIR:-} loop=${DOCKFORM_FSIMAGE_LOOP:-}
  [[ -n $dir ]] || return 0
  if [[ $dir != /var/tmp/dfi.* || $dir == */../* ]]; then
    _dockform_fsimage_log "refusing to detach an image in unexpected folder '$dir'"
    return 1
  fi
  if mountpoint -q "$dir/mnt"; then
    umount "$dir/mnt" 2>/dev/null || { sync; umount "$dir/mnt" 2>/dev/null; } || umount -l "$dir/mnt" ||
      _dockform_fsimage_log "could not unmount $dir/mnt"
  fi
  # Only the device attached to our image (the name may have been reused).
  if [[ -n $loop ]] && losetup -l -n -O BACK-FILE "$loop" 2>/dev/null | grep -qF "$dir/image"; then
    losetup -d "$loop" || _dockform_fsimage_log "could not detach $loop"
  fi
  if mountpoint -q "$dir/mnt"; then
    _dockform_fsimage_log "$dir/mnt is still mounted; not deleting $dir"
  else
    rm -rf --one-file-system "$dir"
  fi
  DOCKFORM_FSIMAGE_DIR="" DOCKFORM_FSIMAGE_LOOP="" DOCKFORM_FSIMAGE_MNT=""
  _dockform_fsimage_log "image in $dir detached"
}
