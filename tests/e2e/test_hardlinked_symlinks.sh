#!/usr/bin/env bash
# Hard links to symlinks (what `cp -al` and rsnapshot make): the tar holds the
# second name as a hardlink entry whose target is a symlink. The link is never
# followed, so it is safe: snapshot, verify and restore succeed, and each pair
# is restored as one inode with two names, still a symlink with its target
# text. A hardlink whose target path runs through a symlink (its parent) is
# still refused, by restore (exit 3, volume untouched) and by verify.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=${PFX}src
dst=${PFX}dst
manifest_and_volumes hardsym "$src" "$dst"
# sl and sl2: one symlink inode, relative target; d/abs and d/abs2: absolute
# (dangling) target; d/sl3: a third name of sl in another folder.
vol_exec "$src" sh -euc '
  cd /v && echo data > target && mkdir d
  ln -s target sl && ln sl sl2 && ln sl d/sl3
  ln -s /nowhere/at/all d/abs && ln d/abs d/abs2' || fail "filling $src"

# links VOLUME: for each name: type, link count, inode group, symlink target.
links() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  vol_exec "$1" sh -c '
    cd /v
    sl=$(stat -c %i sl) abs=$(stat -c %i d/abs)
    for p in sl sl2 d/sl3 d/abs d/abs2; do
      i=$(stat -c %i "$p")
      [ "$i" = "$sl" ] && i=A || { [ "$i" = "$abs" ] && i=B; }
      echo "$p $(stat -c "%F %h" "$p") inode=$i -> $(readlink "$p")"
    done
    cat sl2' || fail "reading the links of $1"
}
expected="sl symbolic link 3 inode=A -> target
sl2 symbolic link 3 inode=A -> target
d/sl3 symbolic link 3 inode=A -> target
d/abs symbolic link 2 inode=B -> /nowhere/at/all
d/abs2 symbolic link 2 inode=B -> /nowhere/at/all
data"
assert_eq "$expected" "$(links "$src")" "the fixture: hard links to symlinks"

run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/store" --json
assert_eq 0 "$RC" "snapshot"
snap=$(json_field data_file)
run_df volume verify "$snap"
assert_eq 0 "$RC" "verify of a snapshot with hard-linked symlinks"
run_df -c "$M" volume restore "$dst" "$snap"
assert_eq 0 "$RC" "restore of a snapshot with hard-linked symlinks"
assert_eq "$expected" "$(links "$dst")" "restored: one inode per pair, still symlinks, same targets"

# A hardlink through a symlink: d2/f reached as l/f, where l is a symlink to d2.
python3 - "$TEST_TMP/through.tar" <<'EOF'
import io, sys, tarfile
def member(name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.mtime = 1000000000
    info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "file": tarfile.REGTYPE}[kind]
    info.mode = 0o755 if kind == "dir" else 0o644
    info.linkname = target
    data = b"inside\n" if kind == "file" else b""
    info.size = len(data)
    return info, io.BytesIO(data)
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for info, data in [member("./", "dir"), member("./d2", "dir"), member("./d2/f", "file"), member("./l", "sym", "d2"),
                       member("./h", "hard", "l/f")]:
        t.addfile(info, data)
EOF
before=$(links "$dst")
run_df -c "$M" volume restore "$dst" "$TEST_TMP/through.tar" --force
assert_eq 3 "$RC" "restore of a hardlink through a symlink"
assert_contains "$ERR" "hardlink ./h points through a symlink" "the refusal names the member"
assert_eq "$before" "$(links "$dst")" "the refused restore left the volume as it was"
run_df volume verify "$TEST_TMP/through.tar"
assert_eq 3 "$RC" "verify of a hardlink through a symlink"
assert_contains "$OUT$ERR" "points through a symlink" "verify names the unsafe member"
pass
