#!/usr/bin/env bash
# stages: podman
# slow
# dockform-helper keeps everything a volume holds through `volume snapshot` then
# `volume restore` into a new volume, with the built-in helper image and with
# --helper-image (busybox, the binary copied in): user.* xattrs (a binary value
# too), a trusted.* xattr, a file capability (security.capability), POSIX ACLs
# (access and default) on a folder, nanosecond folder and file mtimes, a 512 MiB
# sparse file holding 1 MiB (still sparse after restore), hard links (one inode),
# a FIFO, numeric owners, and the volume root's own mode, owner, xattr, ACL and
# mtime. Source and restored volume are compared by a full listing (stat,
# getfattr, getfacl and a content hash of every path). The snapshot extracted on
# the host by GNU tar and by bsdtar gives back the user.* xattr and the ACLs; a
# snapshot made by GNU tar itself (pax, --sparse, no sidecar) restores to the
# same listing. The first snapshot leaves a dockform-helper image in the engine.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd tar bsdtar getfattr getfacl
tar --version | grep -q 'GNU tar' || fail "the host's tar is not GNU tar"
((EUID == 0)) || fail "extracting owners, trusted.* and capabilities on the host needs root"
GNUTOUCH=$(command -v touch)
"$GNUTOUCH" --version 2>/dev/null | grep -q coreutils ||
  fail "$GNUTOUCH is not GNU touch (needed for nanosecond mtimes: busybox touch -d has none)"
BUSYBOX=$DOCKFORM_TEST_BUSYBOX_IMAGE
GNUTAR=$DOCKFORM_TEST_GNUTAR_IMAGE

src=${PFX}src
proj=$TEST_TMP/proj
write_manifest "$proj" helperfidelity "$src" "${PFX}builtin" "${PFX}busybox" "${PFX}gnutar"
engine volume create "$src" >/dev/null

# gnu_run VOLUME[:ro] [ENGINE-RUN-ARGS...] -- CMD...: CMD in the GNU tar image
# (dash, busybox applets, GNU tar, getfattr/setfattr, getfacl/setfacl) with
# VOLUME at /v and CAP_SYS_ADMIN, without which trusted.* can be neither set nor
# listed.
gnu_run() {
  local vol=${1%:ro} ro=
  [[ $1 != *:ro ]] || ro=:ro
  shift
  local -a opts=()
  while [[ $1 != -- ]]; do
    opts+=("$1")
    shift
  done
  shift
  engine run --rm --network none --log-driver none --cap-add SYS_ADMIN "${opts[@]}" \
    -v "$vol:/v$ro" "$GNUTAR" "$@"
}

probe=$(gnu_run "$src" -- sh -c '
  cd /v && echo probe > probe &&
  setfattr -n user.probe -v 1 probe 2>&1 && setfattr -n trusted.probe -v 1 probe 2>&1 &&
  setfacl -m u:1:r probe 2>&1 && rm probe && echo supported' 2>&1) || true
[[ $probe == *supported ]] ||
  fail "the volume filesystem or the engine refuses user.*/trusted.* xattrs or ACLs (in $GNUTAR: $probe); not a dockform fault, but nothing here can be checked"

# A v2 capability blob, as `setcap cap_net_raw+ep` writes it (effective, permitted CAP_NET_RAW).
CAP_B64=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=
CAP_HEX=0x0100000200200000000000000000000000000000
DIR_TIME='2001-02-03 04:05:06.123456789'
SUB_TIME='2002-03-04 05:06:07.987654321'
ACL_TIME='2003-04-05 06:07:08.000000001'
FILE_TIME='2004-05-06 07:08:09.555555555'
ROOT_TIME='2005-06-07 08:09:10.246813579'

# The fixture. GNU touch comes in on stdin (busybox touch -d takes no fractions;
# the image has the host's libc). Times are set last, once the content is in place;
# the capability after every chown (a chown drops it); the root after its content.
# shellcheck disable=SC2016 # expanded by the container's shell
gnu_run "$src" -i -- sh -euc '
  cat > /tmp/touch && chmod 755 /tmp/touch
  cd /v
  mkdir -p dir/sub acl-dir
  echo hello > dir/sub/file
  echo attrs > xattrs
  setfattr -n user.text -v "hello world" xattrs
  setfattr -n user.binary -v 0x00ff01 xattrs
  setfattr -n trusted.secret -v 0x7472757374 xattrs
  setfacl -m u:1234:rwx,g:4321:r-x acl-dir
  setfacl -d -m u:1234:rwx,g:4321:r-x,o::- acl-dir
  echo inherited > acl-dir/inherits
  truncate -s 512M sparse
  dd if=/dev/urandom of=sparse bs=1M count=1 seek=200 conv=notrunc 2>/dev/null
  echo linked > hard-a && ln hard-a dir/hard-b
  mkfifo fifo && chmod 640 fifo
  echo owned > owned && chown 1234:5678 owned && chmod 604 owned
  chown -R 2345:6789 dir
  echo cap > cap-file && chmod 755 cap-file
  setfattr -n security.capability -v "$1" cap-file
  chown 1111:2222 /v && chmod 0751 /v
  setfattr -n user.root -v rootvalue /v
  setfacl -m u:1234:r-x /v
  /tmp/touch -d "$2" dir
  /tmp/touch -d "$3" dir/sub
  /tmp/touch -d "$4" acl-dir
  /tmp/touch -d "$5" owned dir/sub/file
  /tmp/touch -d "$6" /v
' fixture "$CAP_B64" "$DIR_TIME" "$SUB_TIME" "$ACL_TIME" "$FILE_TIME" "$ROOT_TIME" <"$GNUTOUCH" ||
  fail "filling $src (see the lines above)"

# listing VOLUME: for every path (sorted): type, mode, owner, size, link count and
# mtime (nanoseconds), every xattr in hex (trusted.*, security.*, system.* too),
# the ACL (numeric) and, for a file, a hash of its content.
listing() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  gnu_run "$1:ro" -- sh -c '
    cd /v && find . | sort | while IFS= read -r p; do
      echo "== $p"
      stat -c "%F|%a|%u:%g|%s|%h|%y" "$p"
      getfattr -h -d -m - -e hex "$p" 2>&1 | grep -v "^# file:" | grep .
      getfacl -n -p "$p" 2>&1 | grep -v "^# file:" | grep .
      if [ -f "$p" ]; then sha256sum < "$p" | cut -c1-64; fi
    done' ||
    fail "listing $1"
}
# sparse_and_links VOLUME: the sparse file's size and allocated KiB, and the two
# hard links' link counts and whether they share an inode.
sparse_and_links() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  gnu_run "$1:ro" -- sh -c '
    cd /v
    echo "size=$(stat -c %s sparse) kib=$(du -k sparse | cut -f1)"
    a=$(stat -c "%h %i" hard-a) b=$(stat -c "%h %i" dir/hard-b)
    echo "links=${a%% *}/${b%% *} same_inode=$([ "${a#* }" = "${b#* }" ] && echo yes || echo no)"' ||
    fail "reading the sparse file and the hard links of $1"
}
# check_sparse_and_links VOLUME WHAT
check_sparse_and_links() {
  local got size kib
  got=$(sparse_and_links "$1")
  size=${got#size=}
  size=${size%% *}
  kib=${got#*kib=}
  kib=${kib%%$'\n'*}
  assert_eq 536870912 "$size" "$2: apparent size of the sparse file"
  ((kib < 8192)) || fail "$2: the 512 MiB sparse file with 1 MiB of data takes $kib KiB (holes not kept): $got"
  assert_contains "$got" "links=2/2 same_inode=yes" "$2: the hard links are one inode with two links"
}

want=$(listing "$src")
for needle in "user.text=0x68656c6c6f20776f726c64" "user.binary=0x00ff01" "trusted.secret=0x7472757374" \
  "security.capability=$CAP_HEX" "default:user:1234:rwx" "user.root=0x726f6f7476616c7565" \
  "directory|751|1111:2222|" "$DIR_TIME" "$SUB_TIME" "$ACL_TIME" "$FILE_TIME" "$ROOT_TIME" "fifo|640|0:0|"; do
  assert_contains "$want" "$needle" "the source listing (the fixture did not take)"
done
check_sparse_and_links "$src" "source volume"

# check_restored VOLUME WHAT: VOLUME's listing equals the source's, whole.
check_restored() {
  local got
  got=$(listing "$1")
  if [[ $got != "$want" ]]; then
    diff <(echo "$want") <(echo "$got") >&2 || true
    fail "$2: $1 differs from the source volume (diff above: < source, > restored)"
  fi
  check_sparse_and_links "$1" "$2"
}

# round_trip NAME [GLOBAL-FLAGS...]: snapshot of the source, restore into the new
# volume PFX+NAME; sets SNAP to the snapshot's data file.
SNAP=
round_trip() {
  local name=$1 dst=${PFX}$1 snap
  shift
  run_df -c "$proj" "$@" volume snapshot "$src" -o "$TEST_TMP/$name" --json
  assert_eq 0 "$RC" "$name: snapshot of $src"
  snap=$(json_field data_file)
  assert_file_exists "$snap" "$name: snapshot data file"
  engine volume create "$dst" >/dev/null
  run_df -c "$proj" "$@" volume restore "$dst" "$snap" --json
  assert_eq 0 "$RC" "$name: restore into the new volume $dst"
  check_restored "$dst" "$name round trip"
  SNAP=$snap
}

# ---------------------------------------------------------------- built-in helper image
round_trip builtin
snap=$SNAP
# Read whole first: grep -q ends early, and under pipefail the client's
# SIGPIPE would fail the check. Podman shows docker.io/library/dockform-helper.
repositories=$(engine images --format '{{.Repository}}')
grep -Eq '(^|/)dockform-helper$' <<<"$repositories" ||
  fail "no dockform-helper image in the engine after a snapshot with the built-in helper: $(engine images --format '{{.Repository}}:{{.Tag}}')"

# ---------------------------------------------------------------- --helper-image busybox
round_trip busybox --helper-image "$BUSYBOX"

# ---------------------------------------------------------------- the snapshot on the host
# host_check FOLDER WHAT: the user.* xattrs and the ACLs came back in FOLDER.
host_check() {
  local dir=$1 what=$2 got
  got=$(getfattr --absolute-names -n user.text --only-values "$dir/xattrs" 2>&1) || true
  assert_eq "hello world" "$got" "$what: user.text of xattrs"
  got=$(getfattr --absolute-names -e hex -n user.binary "$dir/xattrs" 2>&1) || true
  assert_contains "$got" "user.binary=0x00ff01" "$what: binary user.binary of xattrs"
  got=$(getfacl -n -p "$dir/acl-dir" 2>&1) || true
  assert_contains "$got" "user:1234:rwx" "$what: access ACL of acl-dir"
  assert_contains "$got" "group:4321:r-x" "$what: access ACL of acl-dir"
  assert_contains "$got" "default:user:1234:rwx" "$what: default ACL of acl-dir"
  assert_contains "$got" "default:group:4321:r-x" "$what: default ACL of acl-dir"
}
mkdir "$TEST_TMP/host-gnu" "$TEST_TMP/host-bsd"
tar --zstd --xattrs --xattrs-include='*' --acls --numeric-owner -xpf "$snap" -C "$TEST_TMP/host-gnu" ||
  fail "GNU tar on the host could not extract $snap"
host_check "$TEST_TMP/host-gnu" "GNU tar extraction on the host"
zstd -q -dc "$snap" | bsdtar -x --xattrs --acls --numeric-owner -p -f - -C "$TEST_TMP/host-bsd" ||
  fail "bsdtar on the host could not extract $snap"
host_check "$TEST_TMP/host-bsd" "bsdtar extraction on the host"
rm -rf "$TEST_TMP/host-gnu" "$TEST_TMP/host-bsd"

# ---------------------------------------------------------------- a snapshot made by GNU tar
mkdir -p "$TEST_TMP/gnutar"
gnu_tar_snap=$TEST_TMP/gnutar/X.tar.zst
if ! gnu_run "$src:ro" -- tar --create --format=posix --sparse --xattrs --xattrs-include='*' --acls \
  --numeric-owner -C /v -f - . | zstd -q >"$gnu_tar_snap"; then
  fail "GNU tar in $GNUTAR could not archive $src"
fi
engine volume create "${PFX}gnutar" >/dev/null
run_df -c "$proj" volume restore "${PFX}gnutar" "$gnu_tar_snap" --json
assert_eq 0 "$RC" "restore of the snapshot made by GNU tar (no sidecar)"
check_restored "${PFX}gnutar" "restore of GNU tar's snapshot"

pass
