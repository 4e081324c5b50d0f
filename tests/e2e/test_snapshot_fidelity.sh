#!/usr/bin/env bash
# stages: podman
# volume snapshot keeps everything a round trip must keep (see fill_tricky in
# fixtures.sh): the archive,
# extracted with plain tools only (zstd + busybox tar, zstd + GNU tar), gives
# back the same tree. With the GNU tar helper, user xattrs and POSIX ACLs too.
# (The dockform round trip is covered by the restore tests.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools zstd
BUSYBOX=$DOCKFORM_TEST_BUSYBOX_IMAGE
GNUTAR=$DOCKFORM_TEST_GNUTAR_IMAGE

# extract FILE VOLUME IMAGE TAR-ARGS...: zstd -dc FILE | tar TAR-ARGS in IMAGE with VOLUME at /v.
extract() {
  local file=$1 vol=$2 image=$3
  shift 3
  engine volume create "$vol" >/dev/null
  zstd -dc "$file" | engine run -i --rm --name "${vol}_x" --network none --log-driver none \
    -v "$vol:/v" "$image" tar "$@" -C /v ||
    fail "extracting $file into $vol with tar $* in $image failed"
}

# the one data file a snapshot run wrote into FOLDER
data_file() {
  local files
  files=$(find "$1" -maxdepth 1 -name '*.tar.zst')
  [[ -n $files && $(wc -l <<<"$files") -eq 1 ]] || fail "expected one .tar.zst in $1, found [$files]"
  echo "$files"
}

proj=$TEST_TMP/proj
src=${PFX}src
write_manifest "$proj" fidelity "$src"
engine volume create "$src" >/dev/null
fill_tricky "$src"
want=$(tree_listing "$src")
[[ $want == *"F|./owned|640|1234:5678|6|981173106|1|"* ]] || fail "fixture listing looks wrong: $want"

# ---------------------------------------------------------------- default (busybox) helper
run_df -c "$proj" volume snapshot "$src" -o "$TEST_TMP/bb"
assert_eq 0 "$RC" "snapshot of the tricky volume with the default helper"
bbfile=$(data_file "$TEST_TMP/bb/$src")

extract "$bbfile" "${PFX}bb_bb" "$BUSYBOX" -xf -
got=$(tree_listing "${PFX}bb_bb")
[[ $got == "$want" ]] || fail "busybox tar extraction differs from the source volume:
$(diff <(echo "$want") <(echo "$got"))"

extract "$bbfile" "${PFX}bb_gnu" "$GNUTAR" --numeric-owner -p -xf -
got=$(tree_listing "${PFX}bb_gnu")
[[ $got == "$want" ]] || fail "GNU tar extraction differs from the source volume:
$(diff <(echo "$want") <(echo "$got"))"

# ---------------------------------------------------------------- GNU tar helper
run_df -c "$proj" --helper-image "$GNUTAR" volume snapshot "$src" -o "$TEST_TMP/gnu"
assert_eq 0 "$RC" "snapshot of the tricky volume with --helper-image $GNUTAR"
gnufile=$(data_file "$TEST_TMP/gnu/$src")
extract "$gnufile" "${PFX}gnu_gnu" "$GNUTAR" --numeric-owner -p -xf -
got=$(tree_listing "${PFX}gnu_gnu")
[[ $got == "$want" ]] || fail "GNU tar extraction of the GNU tar helper's snapshot differs from the source volume:
$(diff <(echo "$want") <(echo "$got"))"

# ---------------------------------------------------------------- xattrs and ACLs
xa=${PFX}xattr
engine volume create "$xa" >/dev/null
probe=$(engine run --rm --network none --log-driver none -v "$xa:/v" "$GNUTAR" sh -c '
  cd /v && echo probe > probe &&
  setfattr -n user.probe -v 1 probe 2>&1 && setfacl -m u:1:r probe 2>&1 && rm probe && echo supported' 2>&1) || true
[[ $probe == *supported ]] ||
  fail "this machine's volume filesystem does not take user xattrs or POSIX ACLs (setfattr/setfacl in $GNUTAR said: $probe); not a dockform fault, but the xattr/ACL part cannot be checked here"

engine run --rm --network none --log-driver none -v "$xa:/v" "$GNUTAR" sh -euc '
  cd /v
  echo x > with-xattr && setfattr -n user.test -v hello with-xattr
  echo a > with-acl && setfacl -m u:1234:rw with-acl
  mkdir dir-acl && setfacl -m u:1234:rwx dir-acl && setfacl -d -m g:4321:rx dir-acl
  echo both > both && setfattr -n user.other -v "two words" both && setfacl -m g:777:r both
' || fail "setting xattrs/ACLs in $xa"

# attrs VOLUME: the xattrs and ACLs of the fixture files, as text
attrs() {
  engine run --rm --network none --log-driver none -v "$1:/v:ro" "$GNUTAR" sh -c '
    cd /v
    for f in with-xattr with-acl dir-acl both; do
      echo "== $f"
      getfattr -d -m "^user\\." "$f" 2>&1 | grep -v "^#" | grep .
      getfacl -n -p "$f" 2>&1 | grep -v "^#"
    done'
}
want_attrs=$(attrs "$xa")
assert_contains "$want_attrs" 'user.test="hello"' "xattr set in the source volume"
assert_contains "$want_attrs" "user:1234:rw-" "ACL set in the source volume"

run_df -c "$proj" --helper-image "$GNUTAR" volume snapshot "$xa" -o "$TEST_TMP/xa"
assert_eq 0 "$RC" "snapshot of $xa with --helper-image $GNUTAR"
xafile=$(data_file "$TEST_TMP/xa/$xa")
extract "$xafile" "${PFX}xa_out" "$GNUTAR" --xattrs --xattrs-include='*' --acls --numeric-owner -xpf -
got_attrs=$(attrs "${PFX}xa_out")
[[ $got_attrs == "$want_attrs" ]] || fail "xattrs/ACLs after extraction differ:
$(diff <(echo "$want_attrs") <(echo "$got_attrs"))"
assert_contains "$got_attrs" 'user.test="hello"' "user.test xattr after extraction"
assert_contains "$got_attrs" "user:1234:rw-" "ACL u:1234:rw after extraction"
assert_contains "$got_attrs" "default:group:4321:r-x" "default ACL after extraction"
assert_eq "$(tree_listing "$xa" "$GNUTAR")" "$(tree_listing "${PFX}xa_out" "$GNUTAR")" "tree of the xattr volume after extraction"

pass
