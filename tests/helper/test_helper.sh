#!/usr/bin/env bash
# dockform-helper without an engine: create | extract round trips on folders
# under a temp dir, interoperability with GNU tar and bsdtar, refusal of
# hostile archives, the restore's staging/swap protocol at a volume root
# (restore, prepare, leftovers, remove, snapshot) and the lock lease. Needs
# root (owners, trusted.* xattrs, mknod) and the Debian packages acl, attr,
# libcap2-bin, libarchive-tools, python3, util-linux (setpriv).
# ctest runs it with DOCKFORM_HELPER=<path to the built dockform-helper>.
set -euo pipefail

fail() {
  printf 'FAIL: test_helper: %s\n' "$*" >&2
  exit 1
}
trap 'fail "line $LINENO: a command failed"' ERR

[[ -n ${DOCKFORM_HELPER:-} ]] || fail "DOCKFORM_HELPER is not set (the path of dockform-helper; run through ctest)"
[[ -x $DOCKFORM_HELPER ]] || fail "DOCKFORM_HELPER=$DOCKFORM_HELPER is not an executable file"
if [[ $(id -u) != 0 ]]; then
  echo "SKIP: test_helper needs root (owners, trusted.* xattrs, device nodes)"
  exit 77
fi
for tool in setfattr:attr getfattr:attr setfacl:acl getfacl:acl bsdtar:libarchive-tools python3:python3 file:file setpriv:util-linux; do
  command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is missing (Debian package ${tool#*:})"
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
helper() { "$DOCKFORM_HELPER" "$@"; }

# Every stderr line of the helper must be a JSON object.
check_json_lines() {
  python3 - "$1" <<'PY' || fail "stderr of the helper is not JSON lines: $(cat "$1")"
import json, sys
for line in open(sys.argv[1], "rb").read().decode("utf-8").splitlines():
    assert isinstance(json.loads(line), dict), line
PY
}

# What a restore must reproduce, one block per kind, names sorted.
describe() {
  (
    cd "$1"
    find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %f %u:%g %h %s %t,%T %y'
    find . ! -type l -print0 | LC_ALL=C sort -z | xargs -0 getfattr -h -d -m - -e hex 2>/dev/null
    find . ! -type l -print0 | LC_ALL=C sort -z | xargs -0 getfacl -p 2>/dev/null
    find . -type l -print0 | LC_ALL=C sort -z | xargs -0 -r -n1 readlink
    content
  )
}

# A digest of every regular file under the current folder that reads only
# the data of sparse files (SEEK_DATA) and skips zero blocks: a 512 MiB file
# with holes costs what its data costs, whatever the hole layout.
content() {
  python3 - <<'PY'
import hashlib, os
for top, dirs, files in os.walk(b"."):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(top, name)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            offset = 0
            while offset < size:
                try:
                    offset = os.lseek(f.fileno(), offset, os.SEEK_DATA)
                except OSError:
                    break
                end = os.lseek(f.fileno(), offset, os.SEEK_HOLE)
                # Whole aligned MiBs: the digest ignores where the holes are.
                offset -= offset % (1 << 20)
                f.seek(offset)
                while offset < end:
                    block = f.read(1 << 20)
                    if block.count(0) != len(block):
                        digest.update(offset.to_bytes(8, "big") + block)
                    offset += 1 << 20
        print(path, size, digest.hexdigest())
PY
}

# same_tree SRC OUT WHAT [root-mtime]: with root-mtime, the mtime of OUT
# itself is not compared.
same_tree() {
  describe "$1" >"$TMP/want.txt"
  describe "$2" >"$TMP/got.txt"
  if [[ ${4:-} == root-mtime ]]; then
    sed -i '1s/ [0-9-]* [0-9:.]* +0000$//' "$TMP/want.txt" "$TMP/got.txt"
  fi
  diff -u "$TMP/want.txt" "$TMP/got.txt" >&2 || fail "$3: $2 differs from $1"
}

echo "== the binary is static and small"
kind=$(file -L "$DOCKFORM_HELPER")
[[ $kind == *'statically linked'* ]] || fail "not static: $kind"
size=$(stat -L -c %s "$DOCKFORM_HELPER")
((size <= 4 * 1024 * 1024)) || fail "dockform-helper is $size bytes, more than 4 MiB"

echo "== usage errors exit 2, a missing destination 1"
rc=0
helper >/dev/null 2>"$TMP/usage.err" || rc=$?
[[ $rc == 2 ]] || fail "no command: exit $rc, not 2"
check_json_lines "$TMP/usage.err"
rc=0
helper extract "$TMP/missing" </dev/null 2>"$TMP/usage.err" || rc=$?
[[ $rc == 1 ]] || fail "missing destination: exit $rc, not 1"
grep -q '"level":"error"' "$TMP/usage.err" || fail "missing destination: no error line"

echo "== a folder with everything in it"
SRC=$TMP/src
mkdir -p "$SRC/dir/sub" "$SRC/acl-dir" "$SRC/sticky"
printf 'hello\n' >"$SRC/file"
head -c 100000 /dev/urandom >"$SRC/random"
setfattr -n user.binary -v 0x00ff0a2200 "$SRC/file"
setfattr -n user.text -v "some value" "$SRC/file"
setfattr -n trusted.t -v 0x0102 "$SRC/file"
printf 'capable\n' >"$SRC/cap"
chown 1234:5678 "$SRC/cap" # before setcap: chown drops capabilities
if command -v setcap >/dev/null; then
  setcap cap_net_raw+ep "$SRC/cap"
else
  # VFS_CAP_REVISION_2 with CAP_NET_RAW (13) permitted, effective flag set.
  setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$SRC/cap"
fi
getfattr -n security.capability "$SRC/cap" >/dev/null 2>&1 || fail "could not set security.capability"
setfacl -m u:1234:rx,g:5678:r "$SRC/file"
setfacl -m u:99:rwx "$SRC/acl-dir"
setfacl -d -m u:1234:rwx,g:55:rx "$SRC/acl-dir"
truncate -s 512M "$SRC/sparse"
dd if=/dev/urandom of="$SRC/sparse" bs=1M count=1 seek=200 conv=notrunc status=none
ln "$SRC/file" "$SRC/dir/hardlink"
mkfifo "$SRC/fifo"
ln -s file "$SRC/symlink"
ln -P "$SRC/symlink" "$SRC/symlink-hardlink" # a hard link to a symlink (cp -al makes them)
ln -s /does/not/exist "$SRC/dangling"
mknod "$SRC/null" c 1 3
printf 'a' >"$SRC/with space"
printf 'b' >"$SRC/new"$'\n'"line"
printf 'c' >"$SRC/bad"$'\xff\xfe'"name"
printf 'e' >"$SRC/ünï-名前"
ln -s "ünï-名前" "$SRC/lien-é"
printf 'd' >"$SRC/dir/sub/owned"
chown 1234:5678 "$SRC/dir/sub/owned" "$SRC/dir/sub"
chown 1234:5678 "$SRC/random"
chmod 4755 "$SRC/random" # after chown, which clears setuid
chmod 1777 "$SRC/sticky"
setfattr -n user.root -v 0x01 "$SRC"
chown 4321:8765 "$SRC"
chmod 0750 "$SRC"
# Times last: creating entries moves the folders' mtimes.
touch -h -d '2001-02-03 04:05:06.123456789' "$SRC/symlink"
touch -d '2011-12-13 14:15:16.987654321' "$SRC/file" "$SRC/dir/sub"
touch -d '2020-01-01 00:00:00.5' "$SRC/dir" "$SRC/acl-dir" "$SRC"
[[ $(stat -c %y "$SRC/file") == *.987654321* ]] || fail "this filesystem keeps no nanoseconds"

helper create "$SRC" >"$TMP/a.tar" 2>"$TMP/create.err" || fail "create failed: $(cat "$TMP/create.err")"
check_json_lines "$TMP/create.err"
grep -q '"kind":"done"' "$TMP/create.err" || fail "no done line: $(cat "$TMP/create.err")"
! grep -q '"level":"warning"\|"level":"error"' "$TMP/create.err" || fail "unexpected messages: $(cat "$TMP/create.err")"
# The data of the sparse file is 1 MiB: the stream must not hold its 512 MiB.
(($(stat -c %s "$TMP/a.tar") < 4 * 1024 * 1024)) || fail "the sparse file was not stored as sparse"
first=$(tar -tf "$TMP/a.tar" 2>/dev/null | sed -n 1p)
[[ $first == ./ ]] || fail "the first member is '$first', not ./"
! grep -a -q 'uname=\|gname=\|atime=\|ctime=' "$TMP/a.tar" || fail "uname/gname/atime/ctime records in the stream"
grep -a -q 'SCHILY.acl.default=' "$TMP/a.tar" || fail "no SCHILY.acl.default record"
grep -a -q 'GNU.sparse.major=1' "$TMP/a.tar" || fail "no GNU sparse 1.0 record"

echo "== create | extract restores it all"
OUT=$TMP/out
mkdir "$OUT"
helper extract "$OUT" <"$TMP/a.tar" 2>"$TMP/extract.err" || fail "extract failed: $(cat "$TMP/extract.err")"
check_json_lines "$TMP/extract.err"
same_tree "$SRC" "$OUT" "helper round trip"
(($(du -k "$OUT/sparse" | cut -f1) < 4096)) || fail "the restored sparse file is not sparse: $(du -k "$OUT/sparse")"
[[ $(stat -c %i "$OUT/file") == $(stat -c %i "$OUT/dir/hardlink") ]] || fail "the hard link was not restored"

echo "== extract --no-privileged-bits: no setuid/setgid bits, capabilities or device nodes"
NP=$TMP/np
mkdir "$NP"
helper extract "$NP" --no-privileged-bits <"$TMP/a.tar" 2>"$TMP/np.err" || fail "extract --no-privileged-bits: $(cat "$TMP/np.err")"
check_json_lines "$TMP/np.err"
for line in '"kind":"privileged","path":"./random","message":"setuid/setgid bits not restored' \
  '"kind":"privileged","path":"./cap","message":"file capabilities not restored' \
  '"kind":"privileged","path":"./null","message":"device node not restored'; do
  grep -qF "$line" "$TMP/np.err" || fail "extract --no-privileged-bits: no warning $line: $(cat "$TMP/np.err")"
done
[[ $(grep -c '"kind":"privileged"' "$TMP/np.err") == 3 ]] || fail "extract --no-privileged-bits: $(cat "$TMP/np.err")"
[[ $(stat -c %a "$NP/random") == 755 && $(stat -c %a "$NP/sticky") == 1777 ]] || fail "--no-privileged-bits: modes"
! getfattr -n security.capability "$NP/cap" >/dev/null 2>&1 || fail "--no-privileged-bits: the capability was set"
[[ ! -e $NP/null && -p $NP/fifo ]] || fail "--no-privileged-bits: the device node was made or the FIFO not"
getfattr -n user.text "$NP/file" >/dev/null 2>&1 || fail "--no-privileged-bits: other xattrs were dropped too"
cmp -s "$SRC/random" "$NP/random" || fail "--no-privileged-bits: the setuid file's content"

echo "== two snapshots of an unchanged folder are identical"
helper create "$SRC" 2>/dev/null | sha256sum >"$TMP/sum2"
sha256sum <"$TMP/a.tar" | diff - "$TMP/sum2" >/dev/null || fail "two create runs differ"

echo "== GNU tar and bsdtar read the helper's stream"
mkdir "$TMP/gnu" "$TMP/bsd"
tar --xattrs --xattrs-include='*' --acls --numeric-owner -xpf "$TMP/a.tar" -C "$TMP/gnu" 2>"$TMP/gnu.err" ||
  fail "GNU tar failed: $(cat "$TMP/gnu.err")"
same_tree "$SRC" "$TMP/gnu" "GNU tar extract"
bsdtar --xattrs --acls --numeric-owner -xpf "$TMP/a.tar" -C "$TMP/bsd" || fail "bsdtar failed"
# bsdtar (libarchive) sets the times of a folder that exists at once, before
# its content: the destination's own mtime is not restored (the helper redoes it).
same_tree "$SRC" "$TMP/bsd" "bsdtar extract" root-mtime

echo "== the helper restores a GNU tar archive"
GSRC=$TMP/gsrc
mkdir -p "$GSRC/d"
printf 'x' >"$GSRC/d/f"
setfattr -n user.k -v 0x00ff "$GSRC/d/f"
setfattr -n trusted.k -v 0x01 "$GSRC/d/f"
setfacl -m u:1234:r "$GSRC/d/f"
setfacl -d -m g:55:rx "$GSRC/d"
# In a UTF-8 locale GNU tar stores these names as UTF-8 pax records.
printf 'u' >"$GSRC/d/ünï-名前"
ln -s "ünï-名前" "$GSRC/d/lien-é"
LC_ALL=C.UTF-8 tar --xattrs --xattrs-include='*' --acls -H posix -C "$GSRC" -cf "$TMP/gnu.tar" .
mkdir "$TMP/gout"
helper extract "$TMP/gout" <"$TMP/gnu.tar" 2>"$TMP/gout.err" || fail "extract of GNU tar archive: $(cat "$TMP/gout.err")"
! grep -q '"level":"warning"' "$TMP/gout.err" || fail "warnings extracting the GNU tar archive: $(cat "$TMP/gout.err")"
same_tree "$GSRC" "$TMP/gout" "GNU tar archive through the helper"

echo "== the helper restores GNU tar (gnu format, sparse), bsdtar and busybox tar archives"
PSRC=$TMP/psrc
long=$(printf 'n%.0s' {1..150})
mkdir -p "$PSRC/d/$long"
printf 'long\n' >"$PSRC/d/$long/$long"
truncate -s 64M "$PSRC/d/sparse"
printf 'data' | dd of="$PSRC/d/sparse" bs=1 seek=$((32 << 20)) conv=notrunc status=none
ln "$PSRC/d/sparse" "$PSRC/d/sparse-link"
ln -s "$long" "$PSRC/d/symlink"
chown -R 1234:5678 "$PSRC/d"
# Whole seconds: ustar headers keep no more.
find "$PSRC" -exec touch -h -d '2019-05-06 07:08:09' {} +
tar --format=gnu --sparse -C "$PSRC" -cf "$TMP/p-gnu.tar" .
bsdtar -C "$PSRC" -cf "$TMP/p-bsd.tar" .
if command -v busybox >/dev/null; then (cd "$PSRC" && busybox tar -cf "$TMP/p-busybox.tar" .); fi
for made in gnu bsd busybox; do
  [[ -f $TMP/p-$made.tar ]] || continue
  mkdir "$TMP/p-$made"
  helper extract "$TMP/p-$made" <"$TMP/p-$made.tar" 2>"$TMP/p.err" || fail "extract of the $made archive: $(cat "$TMP/p.err")"
  same_tree "$PSRC" "$TMP/p-$made" "$made tar archive through the helper"
done
(($(du -k "$TMP/p-gnu/d/sparse" | cut -f1) < 1024)) || fail "the GNU sparse member was not restored sparse"

echo "== hostile archives are refused"
mkdir "$TMP/outside"
printf 'target' >"$TMP/outside/x"
python3 - "$TMP" <<'PY'
import io, sys, tarfile
tmp = sys.argv[1]
def archive(name, members):
    with tarfile.open(f"{tmp}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
def reg(name, data=b"evil"):
    info = tarfile.TarInfo(name); info.size = len(data); return info, data
def link(name, target, kind):
    info = tarfile.TarInfo(name); info.type = kind; info.linkname = target; return info, None
archive("absolute", [reg(f"{tmp}/outside/absolute")])
archive("dotdot", [reg("ok"), reg("../outside/dotdot")])
archive("symlink", [link("escape", f"{tmp}/outside", tarfile.SYMTYPE), reg("escape/through")])
archive("hardlink", [link("passwd", "/etc/passwd", tarfile.LNKTYPE)])
archive("hardlink_dotdot", [link("passwd", "../../../../../../etc/passwd", tarfile.LNKTYPE)])
archive("hardlink_symlink", [link("escape", f"{tmp}/outside", tarfile.SYMTYPE), link("passwd", "escape/x", tarfile.LNKTYPE)])
PY
for name in absolute dotdot symlink hardlink hardlink_dotdot hardlink_symlink; do
  rm -rf "$TMP/dest"
  mkdir "$TMP/dest"
  if helper extract "$TMP/dest" <"$TMP/$name.tar" 2>"$TMP/hostile.err"; then
    fail "$name: the helper extracted a hostile archive"
  fi
  check_json_lines "$TMP/hostile.err"
  grep -q '"level":"error","kind":"unsafe_path"' "$TMP/hostile.err" || fail "$name: no unsafe_path error: $(cat "$TMP/hostile.err")"
  [[ $(ls -A "$TMP/outside") == x ]] || fail "$name: something was written outside the destination"
  [[ ! -e $TMP/dest/passwd ]] || fail "$name: a hard link to /etc/passwd was made"
done

echo "== --exclude, sockets"
XSRC=$TMP/xsrc
mkdir -p "$XSRC/keep" "$XSRC/a/node_modules/pkg" "$XSRC/node_modules"
touch "$XSRC/keep/x.txt" "$XSRC/keep/debug.log" "$XSRC/a/node_modules/pkg/i.js" "$XSRC/node_modules/j.js"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1].encode("utf-8", "surrogateescape"))' \
  "$XSRC/keep/s"$'\xff'"ock"
helper create "$XSRC" --exclude '*.log' --exclude '**/node_modules' >"$TMP/x.tar" 2>"$TMP/x.err" ||
  fail "create with excludes: $(cat "$TMP/x.err")"
check_json_lines "$TMP/x.err"
listing=$(tar -tf "$TMP/x.tar" 2>/dev/null)
expected=$'./\n./a/\n./keep/\n./keep/x.txt'
[[ $listing == "$expected" ]] || fail "excludes: got members"$'\n'"$listing"
grep -q '"level":"warning","kind":"socket","path":"./keep/s\\u00ffock","path_hex":"2e2f6b6565702f73ff6f636b"' "$TMP/x.err" ||
  fail "no socket warning: $(cat "$TMP/x.err")"

echo "== fast path: --stat, --previous FILE --marker NONCE"
# fast.py: what the host does with --stat lines and markers, and checks.
#   check-stat TAR ERR ROOT        one stat entry per member, as lstat says
#   stat-of ERR N                  member N's "INO CTIME_SEC"
#   previous TAR ERR ROOT FILE     FILE for --previous from a full run
#   rebuild PREV FAST NONCE OUT    FAST with each marker replaced by PREV's
#                                  members; prints the markers' members
cat >"$TMP/fast.py" <<'PY'
import json, os, re, sys, tarfile

def stat_lines(err):
    members, done = [], None
    for line in open(err, "rb").read().decode("utf-8").splitlines():
        m = json.loads(line)
        if m["kind"] == "stat":
            assert done is None, "a stat line after done"
            assert m["first"] == len(members), f"stat line first={m['first']} after {len(members)} members"
            assert 0 < len(m["members"]) <= 512, f"{len(m['members'])} members in a stat line"
            for ino, sec, nsec in m["members"]:
                assert ino > 0 and 0 <= nsec <= 999999999, (ino, sec, nsec)
                members.append((ino, sec, nsec))
        elif m["kind"] == "done":
            done = m
    assert done is not None, "no done line"
    return members, done

# The members of a tar file with the bytes of each (headers, data, padding).
def members(path):
    data = open(path, "rb").read()
    assert len(data) >= 1024 and data[-1024:] == bytes(1024), f"{path} does not end with two zero blocks"
    with tarfile.open(path, "r:") as t:
        infos = t.getmembers()
    ends = [info.offset for info in infos[1:]] + [len(data) - 1024]
    return data, [(info, data[info.offset:end]) for info, end in zip(infos, ends)]

def relative(name):
    return "" if name == "." else name[2:] if name.startswith("./") else name

def kind(info):
    for test, letter in ((info.islnk, "h"), (info.isreg, "f"), (info.isdir, "d"), (info.issym, "l"),
                         (info.isfifo, "p"), (info.ischr, "c"), (info.isblk, "c")):
        if test():
            return letter
    return "o"

def check_stat(tar, err, root):
    stats, done = stat_lines(err)
    infos = members(tar)[1]
    assert len(stats) == len(infos) == done["entries"], (len(stats), len(infos), done)
    for (info, _), stat in zip(infos, stats):
        st = os.lstat(os.path.join(root.encode(), os.fsencode(relative(info.name))))
        assert stat == (st.st_ino, *divmod(st.st_ctime_ns, 10**9)), (info.name, stat)

def previous(tar, err, root, out):
    stats = stat_lines(err)[0]
    with open(out, "wb") as f:
        for n, ((info, _), (ino, csec, cnsec)) in enumerate(zip(members(tar)[1], stats)):
            path = os.fsencode(relative(info.name))
            st = os.lstat(os.path.join(root.encode(), path))
            msec, mnsec = divmod(st.st_mtime_ns, 10**9)
            f.write(b"%d %s %d %d %d %d %d %d %s\0" % (n, kind(info).encode(), ino, csec, cnsec, st.st_size,
                                                      msec, mnsec, path))

def rebuild(prev, fast, nonce, out):
    old = members(prev)[1]
    data, infos = members(fast)
    pattern = re.compile(r"\./\.dfsame\.%s\.(\d+)\.(\d+)" % nonce)
    parts, covered = [], []
    for info, raw in infos:
        m = pattern.fullmatch(info.name)
        if not m:
            parts.append(raw)
            continue
        # One ustar block: no pax header, no data.
        assert len(raw) == 512 and info.isreg() and info.size == 0 and info.mode == 0o600, info.name
        assert info.uid == 0 and info.gid == 0 and info.mtime == 0 and not info.pax_headers, info.name
        first, count = int(m[1]), int(m[2])
        assert count > 0 and first + count <= len(old), info.name
        parts += [raw for _, raw in old[first:first + count]]
        covered += [relative(i.name) for i, _ in old[first:first + count]]
    open(out, "wb").write(b"".join(parts) + bytes(1024))
    print(len(covered))

command, args = sys.argv[1], sys.argv[2:]
if command == "stat-of":
    ino, sec, _ = stat_lines(args[0])[0][int(args[1])]
    print(ino, sec)
else:
    {"check-stat": check_stat, "previous": previous, "rebuild": rebuild}[command](*args)
PY
fast() { python3 "$TMP/fast.py" "$@"; }
NONCE=0123456789abcdef
FSRC=$TMP/fsrc
mkdir -p "$FSRC/dir/sub" "$FSRC/many"
printf 'small\n' >"$FSRC/small"
head -c 5000 /dev/urandom >"$FSRC/dir/medium"
head -c 1500000 /dev/urandom >"$FSRC/big"
printf 'before\n' >"$FSRC/dir/sub/changing"
printf 'linked\n' >"$FSRC/a-link"
ln "$FSRC/a-link" "$FSRC/dir/m-link"
ln "$FSRC/a-link" "$FSRC/dir/z-link"
ln -s small "$FSRC/symlink"
printf 'x' >"$FSRC/with xattr"
setfattr -n user.k -v 0x01 "$FSRC/with xattr"
printf 'n' >"$FSRC/new"$'\n'"line"
mkfifo "$FSRC/fifo"
# More members than one stat line holds.
for i in $(seq -w 1 600); do : >"$FSRC/many/$i"; done
# Members: ./ a-link big dir/ dir/m-link dir/medium dir/sub/ dir/sub/changing
# dir/z-link fifo many/ many/001..600 new\nline small symlink 'with xattr'.
members=615

helper create "$FSRC" --stat >"$TMP/f1.tar" 2>"$TMP/f1.err" || fail "create --stat: $(cat "$TMP/f1.err")"
check_json_lines "$TMP/f1.err"
grep -q "\"kind\":\"done\",\"entries\":$members," "$TMP/f1.err" || fail "create --stat: $(tail -n1 "$TMP/f1.err")"
[[ $(grep -c '"kind":"stat"' "$TMP/f1.err") == 2 ]] || fail "create --stat: not two stat lines for $members members"
fast check-stat "$TMP/f1.tar" "$TMP/f1.err" "$FSRC" || fail "create --stat: the stat lines"
for path in big dir/z-link; do
  n=$(($(tar -tf "$TMP/f1.tar" | grep -n -x "./$path" | cut -d: -f1) - 1))
  [[ $(fast stat-of "$TMP/f1.err" "$n") == $(stat -c '%i %Z' "$FSRC/$path") ]] || fail "create --stat: member $n ($path)"
done
helper create "$FSRC" >"$TMP/f1-plain.tar" 2>/dev/null
helper create "$FSRC" >"$TMP/f1-plain2.tar" 2>/dev/null
cmp -s "$TMP/f1-plain.tar" "$TMP/f1-plain2.tar" || fail "two plain create runs differ"
cmp -s "$TMP/f1.tar" "$TMP/f1-plain.tar" || fail "--stat changed the stream"
fast previous "$TMP/f1.tar" "$TMP/f1.err" "$FSRC" "$TMP/f1.prev" || fail "could not make the previous file"
[[ $(tr -cd '\0' <"$TMP/f1.prev" | wc -c) == "$members" ]] || fail "the previous file does not have $members records"

echo "== fast path: an unchanged member is left out, runs of them become markers"
printf 'after, longer\n' >"$FSRC/dir/sub/changing"
printf 'new\n' >"$FSRC/dir/new-file" # dir/ changes too
helper create "$FSRC" --previous "$TMP/f1.prev" --marker "$NONCE" --stat >"$TMP/f2.tar" 2>"$TMP/f2.err" ||
  fail "create --previous: $(cat "$TMP/f2.err")"
check_json_lines "$TMP/f2.err"
helper create "$FSRC" --stat >"$TMP/f3.tar" 2>"$TMP/f3.err" || fail "create: $(cat "$TMP/f3.err")"
# Previous numbers: 0 ./ 1 a-link 2 big 3 dir/ 4 dir/m-link 5 dir/medium
# 6 dir/sub/ 7 dir/sub/changing 8 dir/z-link ... 614 'with xattr'.
expected="./.dfsame.$NONCE.0.3
./dir/
./.dfsame.$NONCE.4.2
./dir/new-file
./.dfsame.$NONCE.6.1
./dir/sub/changing
./.dfsame.$NONCE.8.607"
listing=$(tar -tf "$TMP/f2.tar")
[[ $listing == "$expected" ]] || fail "create --previous: members"$'\n'"$listing"
tar -tvf "$TMP/f2.tar" | grep -c "^-rw------- 0/0 *0 1970-01-01 00:00 ./.dfsame.$NONCE.8.607$" >/dev/null ||
  fail "create --previous: the marker entry: $(tar -tvf "$TMP/f2.tar")"
[[ $(tar -xOf "$TMP/f2.tar" ./dir/sub/changing) == 'after, longer' && $(tar -xOf "$TMP/f2.tar" ./dir/new-file) == new ]] ||
  fail "create --previous: the changed and the new file's content"
(($(stat -c %s "$TMP/f2.tar") < 64 * 1024)) || fail "create --previous: $(stat -c %s "$TMP/f2.tar") bytes: unchanged data sent"
grep -q "\"kind\":\"done\",\"entries\":$((members + 1)),\"bytes\":$(stat -c %s "$TMP/f2.tar"),\"unchanged\":613}" "$TMP/f2.err" ||
  fail "create --previous: $(tail -n1 "$TMP/f2.err")"
cmp -s <(grep '"kind":"stat"' "$TMP/f2.err") <(grep '"kind":"stat"' "$TMP/f3.err") ||
  fail "create --previous --stat: not the stat lines of a full run"
[[ $(fast rebuild "$TMP/f1.tar" "$TMP/f2.tar" "$NONCE" "$TMP/f2-rebuilt.tar") == 613 ]] || fail "rebuild: markers"
cmp -s "$TMP/f2-rebuilt.tar" "$TMP/f3.tar" || fail "create --previous: with the markers replaced, not the full stream"
helper snapshot "$FSRC" --previous "$TMP/f1.prev" --marker "$NONCE" >"$TMP/f2-snap.tar" 2>/dev/null ||
  fail "snapshot --previous failed"
cmp -s "$TMP/f2.tar" "$TMP/f2-snap.tar" || fail "snapshot --previous: not the stream of create --previous"

echo "== fast path: all unchanged, nothing unchanged, an excluded first hard link"
fast previous "$TMP/f3.tar" "$TMP/f3.err" "$FSRC" "$TMP/f3.prev"
helper create "$FSRC" --previous "$TMP/f3.prev" --marker "$NONCE" >"$TMP/f4.tar" 2>"$TMP/f4.err"
[[ $(tar -tf "$TMP/f4.tar") == "./.dfsame.$NONCE.0.$((members + 1))" && $(stat -c %s "$TMP/f4.tar") == 1536 ]] ||
  fail "create --previous of an unchanged folder: $(tar -tvf "$TMP/f4.tar")"
grep -q "\"unchanged\":$((members + 1))}" "$TMP/f4.err" || fail "all unchanged: $(tail -n1 "$TMP/f4.err")"
: >"$TMP/empty.prev"
helper create "$FSRC" --previous "$TMP/empty.prev" --marker "$NONCE" >"$TMP/f5.tar" 2>"$TMP/f5.err"
cmp -s "$TMP/f5.tar" "$TMP/f3.tar" || fail "create with an empty previous file: not the full stream"
grep -q '"unchanged":0}' "$TMP/f5.err" || fail "nothing unchanged: $(tail -n1 "$TMP/f5.err")"
# Without a-link, dir/m-link holds the data and dir/z-link names it: both
# changed, though dir/z-link's inode and times are as before.
helper create "$FSRC" --exclude a-link --previous "$TMP/f3.prev" --marker "$NONCE" >"$TMP/f6.tar" 2>/dev/null
helper create "$FSRC" --exclude a-link >"$TMP/f6-full.tar" 2>/dev/null
fast rebuild "$TMP/f3.tar" "$TMP/f6.tar" "$NONCE" "$TMP/f6-rebuilt.tar" >/dev/null
cmp -s "$TMP/f6-rebuilt.tar" "$TMP/f6-full.tar" || fail "an excluded first hard link: not the full stream"
tar -tvf "$TMP/f6.tar" | grep -c '^hrw-r--r-- .* ./dir/z-link link to ./dir/m-link$' >/dev/null ||
  fail "an excluded first hard link: $(tar -tvf "$TMP/f6.tar")"

echo "== fast path: usage errors and malformed previous files write no stream"
for args in "--marker 0123456789ABCDEF" "--marker 0123" "--marker 0123456789abcdef0" "--marker" ""; do
  rc=0
  # shellcheck disable=SC2086 # the words of $args
  helper create "$FSRC" --previous "$TMP/f1.prev" $args >"$TMP/bad.tar" 2>"$TMP/bad.err" || rc=$?
  [[ $rc == 2 && ! -s $TMP/bad.tar ]] || fail "create --previous FILE $args: exit $rc, $(stat -c %s "$TMP/bad.tar") bytes"
  grep -q '"level":"error","kind":"usage"' "$TMP/bad.err" || fail "create --previous FILE $args: $(cat "$TMP/bad.err")"
done
rc=0
helper create "$FSRC" --marker "$NONCE" >"$TMP/bad.tar" 2>/dev/null || rc=$?
[[ $rc == 2 && ! -s $TMP/bad.tar ]] || fail "--marker without --previous: exit $rc"
while IFS= read -r record; do
  printf %b "$record" >"$TMP/bad.prev"
  rc=0
  helper create "$FSRC" --previous "$TMP/bad.prev" --marker "$NONCE" >"$TMP/bad.tar" 2>"$TMP/bad.err" || rc=$?
  [[ $rc == 1 && ! -s $TMP/bad.tar ]] || fail "previous file '$record': exit $rc, $(stat -c %s "$TMP/bad.tar") bytes"
  check_json_lines "$TMP/bad.err"
  grep -q '"level":"error","kind":"previous","message":"record ' "$TMP/bad.err" || fail "'$record': $(cat "$TMP/bad.err")"
done <<'RECORDS'
0 d 1 2 3 4 5 6 \x001 f 1 2 3 4 5 6 small
0 x 1 2 3 4 5 6 small\x00
0 f 1 2 1000000000 4 5 6 small\x00
0 f 1 2 3 4 5 -1 small\x00
0 f -1 2 3 4 5 6 small\x00
0 f 1 2 3 -4 5 6 small\x00
0 f 1 2 3 4 5 6\x00
0 f 1 2 3 4 5 6 ./small\x00
0 f 1 2 3 4 5 6 dir/\x00
0 f  1 2 3 4 5 6 small\x00
0 f 1 2 3 4 5 6 small\x001 f 1 2 3 4 5 6 small\x00
RECORDS
rc=0
helper create "$FSRC" --previous "$TMP/missing.prev" --marker "$NONCE" >"$TMP/bad.tar" 2>"$TMP/bad.err" || rc=$?
[[ $rc == 1 && ! -s $TMP/bad.tar ]] || fail "a missing previous file: exit $rc"
grep -q '"kind":"previous","message":"cannot read .*: No such file or directory"' "$TMP/bad.err" ||
  fail "a missing previous file: $(cat "$TMP/bad.err")"

# Files that vanish or shrink between listing and reading, made to happen
# by strace's fault injection (skipped without strace or ptrace).
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  echo "== live volume: vanished and shrinking files"
  LSRC=$TMP/lsrc
  mkdir "$LSRC"
  head -c 3000000 /dev/urandom >"$LSRC/big"
  printf 'soon gone' >"$LSRC/gone"
  # The how-many-th openat opens "gone": inject ENOENT there.
  nth=$(strace -e trace=openat "$DOCKFORM_HELPER" create "$LSRC" 2>&1 >/dev/null | grep '^openat' | grep -n '"gone"' | cut -d: -f1)
  strace -o /dev/null -e trace=openat -e inject=openat:error=ENOENT:when="$nth" \
    "$DOCKFORM_HELPER" create "$LSRC" >"$TMP/l.tar" 2>"$TMP/l.err" || fail "create with a vanished file: $(cat "$TMP/l.err")"
  grep -q '{"level":"warning","kind":"vanished","path":"./gone"}' "$TMP/l.err" || fail "no vanished warning: $(cat "$TMP/l.err")"
  [[ $(tar -tf "$TMP/l.tar") == $'./\n./big' ]] || fail "the vanished file is in the stream"
  # The second read of "big" hits the end of the file: 1 MiB read, the rest is zeros.
  strace -o /dev/null -e trace=pread64 -e inject=pread64:retval=0:when=2 \
    "$DOCKFORM_HELPER" create "$LSRC" >"$TMP/l.tar" 2>"$TMP/l.err" || fail "create with a shrinking file: $(cat "$TMP/l.err")"
  grep -q '"kind":"shrank","path":"./big"' "$TMP/l.err" || fail "no shrank warning: $(cat "$TMP/l.err")"
  mkdir "$TMP/lout"
  tar -xf "$TMP/l.tar" -C "$TMP/lout" 2>/dev/null || fail "the stream with a shrunk file is not valid"
  [[ $(stat -c %s "$TMP/lout/big") == 3000000 ]] || fail "the shrunk file was not padded to its size"
  cmp -s -n 1048576 "$LSRC/big" "$TMP/lout/big" || fail "the data read before the file shrank differs"
  [[ $(tail -c +1048577 "$TMP/lout/big" | tr -d '\0' | wc -c) == 0 ]] || fail "the shrunk file is not padded with zeros"
else
  echo "== live volume: skipped (no strace, or ptrace not allowed)"
fi

# The volume-root protocol below runs on folders standing for a volume root.
# The new content: root metadata of every kind (owner, mode, xattr, access
# and default ACL, mtime with nanoseconds) that the swap copies onto the root.
NEW=$TMP/new
mkdir -p "$NEW/sub"
printf 'new\n' >"$NEW/file"
printf 'dot\n' >"$NEW/.dotnew"
printf 'inner\n' >"$NEW/sub/inner"
ln -s file "$NEW/link"
setfattr -n user.vol -v 0x0a0b "$NEW"
setfacl -m u:4321:r "$NEW"
setfacl -d -m g:55:rx "$NEW"
chown 1234:5678 "$NEW"
chmod 0750 "$NEW"
touch -d '2019-03-04 05:06:07.123456789' "$NEW"
helper create "$NEW" >"$TMP/new.tar" 2>/dev/null || fail "create of the new content failed"
new_entries=$(find "$NEW" -mindepth 1 -maxdepth 1 | wc -l)

# make_old ROOT: a volume root with old content and other root metadata.
make_old() {
  mkdir -p "$1/olddir/deep"
  printf 'old\n' >"$1/oldfile"
  printf 'x' >"$1/.olddot"
  printf 'y' >"$1/olddir/deep/f"
  printf 'stale\n' >"$1/file" # a name the new content has too
  setfattr -n user.old -v 0x01 "$1"
  setfacl -m u:99:rwx "$1"
  setfacl -d -m u:98:rx "$1"
  chown 42:43 "$1"
  chmod 2775 "$1"
}

# Nothing of the protocol's own names may be left at ROOT.
no_reserved_left() {
  local left
  left=$(find "$1" -mindepth 1 -maxdepth 1 -name '.dockform-*')
  [[ -z $left ]] || fail "$2: left at the root: $left"
}

# The restore helper as a coprocess: restore_start ROOT ID [--path P]..., restore_send
# LINE, restore_expect LINE (reads protocol lines until that one),
# restore_close (its stdin), restore_wait (sets restore_rc).
restore_start() {
  : >"$TMP/restore.out"
  : >"$TMP/restore.err"
  coproc RESTORE { exec "$DOCKFORM_HELPER" restore "$@" 2>"$TMP/restore.err"; }
  # shellcheck disable=SC2153 # set by coproc
  restore_pid=$RESTORE_PID
  restore_in=${RESTORE[1]}
  restore_out=${RESTORE[0]}
}
restore_send() { printf '%s\n' "$1" >&"$restore_in"; }
restore_expect() {
  local line
  while IFS= read -r -t 30 -u "$restore_out" line; do
    printf '%s\n' "$line" >>"$TMP/restore.out"
    [[ $line == "$1" ]] && return 0
  done
  fail "restore: no '$1' line; stdout: $(cat "$TMP/restore.out"); stderr: $(cat "$TMP/restore.err")"
}
restore_close() { exec {restore_in}>&-; }
restore_wait() {
  restore_close
  restore_rc=0
  wait "$restore_pid" || restore_rc=$?
  check_json_lines "$TMP/restore.err"
}

echo "== restore: staging, extract, flush, go, cleanup"
ROOT=$TMP/vol
mkdir "$ROOT"
make_old "$ROOT"
old_entries=$(find "$ROOT" -mindepth 1 -maxdepth 1 | wc -l)
restore_start "$ROOT" abc123
restore_expect ready
[[ -d $ROOT/.dockform-restore-abc123 ]] || fail "restore: no staging folder after ready"
# Not the root's setgid bit nor its default ACL: only what extract sets.
[[ $(stat -c %a "$ROOT/.dockform-restore-abc123") == 700 ]] || fail "restore: the staging folder is not mode 0700"
[[ -z $(getfattr -d -m system.posix_acl "$ROOT/.dockform-restore-abc123" 2>/dev/null) ]] ||
  fail "restore: the staging folder inherited the root's ACLs"
helper extract "$ROOT/.dockform-restore-abc123" <"$TMP/new.tar" 2>"$TMP/x.err" || fail "extract into the staging folder"
restore_send flush
restore_expect flushed
restore_send go
restore_expect live
restore_send cleanup
restore_expect swapped
restore_wait
((restore_rc == 0)) || fail "restore: exit $restore_rc: $(cat "$TMP/restore.err")"
expected="entries=$old_entries"$'\nfree_kb=K\nready\nflushed\nlive\nswapped'
[[ $(sed 's/^free_kb=[0-9][0-9]*$/free_kb=K/' "$TMP/restore.out") == "$expected" ]] ||
  fail "restore: stdout is not the protocol lines: $(cat "$TMP/restore.out")"
same_tree "$NEW" "$ROOT" "restore swap"
[[ $(stat -c %y "$ROOT") == *05:06:07.123456789* ]] || fail "restore: root mtime $(stat -c %y "$ROOT")"
[[ $(getfacl -p "$ROOT" 2>/dev/null) == "$(getfacl -p "$NEW" 2>/dev/null | sed "s|^# file: $NEW|# file: $ROOT|")" ]] ||
  fail "restore: the root's ACLs differ: $(getfacl -p "$ROOT")"
no_reserved_left "$ROOT" "restore"

echo "== restore: abandon leaves the old content as it was"
ROOT=$TMP/vol-abandon
mkdir "$ROOT"
make_old "$ROOT"
cp -a "$ROOT" "$TMP/vol-abandon-before"
restore_start "$ROOT" ab
restore_expect ready
helper extract "$ROOT/.dockform-restore-ab" <"$TMP/new.tar" 2>/dev/null || fail "extract into the staging folder"
restore_send abandon
restore_expect abandoned
restore_wait
((restore_rc == 0)) || fail "abandon: exit $restore_rc: $(cat "$TMP/restore.err")"
# Making and removing the staging folder moved the root's mtime.
same_tree "$TMP/vol-abandon-before" "$ROOT" "abandon" root-mtime
no_reserved_left "$ROOT" "abandon"

echo "== restore: the end of stdin after live leaves phase 3; prepare finishes it"
ROOT=$TMP/vol-eof
mkdir "$ROOT"
make_old "$ROOT"
restore_start "$ROOT" eof1
restore_expect ready
helper extract "$ROOT/.dockform-restore-eof1" <"$TMP/new.tar" 2>/dev/null || fail "extract into the staging folder"
restore_send go
restore_expect live
restore_wait
((restore_rc == 0)) || fail "EOF after live: exit $restore_rc: $(cat "$TMP/restore.err")"
[[ $(cat "$ROOT/.dockform-swap-eof1") == 3 ]] || fail "EOF after live: the journal is not at phase 3"
[[ -d $ROOT/.dockform-old-eof1/olddir ]] || fail "EOF after live: the old content is not kept until cleanup"
helper prepare "$ROOT" >"$TMP/prepare.out" 2>"$TMP/prepare.err" || fail "prepare: $(cat "$TMP/prepare.err")"
check_json_lines "$TMP/prepare.err"
expected=$'recovered=finished the swap of an interrupted restore (eof1, phase 3)\nentries='"$new_entries"$'\nfree_kb=K'
[[ $(sed 's/^free_kb=[0-9][0-9]*$/free_kb=K/' "$TMP/prepare.out") == "$expected" ]] ||
  fail "prepare after phase 3: $(cat "$TMP/prepare.out")"
same_tree "$NEW" "$ROOT" "phase 3 finished by prepare"
no_reserved_left "$ROOT" "phase 3 finished by prepare"

echo "== prepare: journals at phase 1 and 2 made by hand, a .tmp journal, a lone old folder"
# Phase 1 interrupted: part of the old content moved already.
ROOT=$TMP/vol-p1
mkdir "$ROOT"
make_old "$ROOT"
mkdir "$ROOT/.dockform-restore-X" "$ROOT/.dockform-old-X"
setfacl -b "$ROOT/.dockform-restore-X" # as restore makes it: no inherited ACL
helper extract "$ROOT/.dockform-restore-X" <"$TMP/new.tar" 2>/dev/null || fail "extract into the staging folder"
mv "$ROOT/oldfile" "$ROOT/.dockform-old-X/"
printf '1\n' >"$ROOT/.dockform-swap-X"
printf '2\n' >"$ROOT/.dockform-swap-Z.tmp"
mkdir -p "$ROOT/.dockform-old-Y/a"
touch "$ROOT/.dockform-old-Y/a/b"
helper prepare "$ROOT" >"$TMP/prepare.out" 2>"$TMP/prepare.err" || fail "prepare at phase 1: $(cat "$TMP/prepare.err")"
check_json_lines "$TMP/prepare.err"
expected=$'recovered=finished the swap of an interrupted restore (X, phase 1)\nrecovered=removed .dockform-old-Y left by an interrupted restore\nentries='"$new_entries"$'\nfree_kb=K'
[[ $(sed 's/^free_kb=[0-9][0-9]*$/free_kb=K/' "$TMP/prepare.out") == "$expected" ]] ||
  fail "prepare at phase 1: $(cat "$TMP/prepare.out")"
# Removing .dockform-old-Y, after the swap, moved the root's mtime.
same_tree "$NEW" "$ROOT" "phase 1 finished by prepare" root-mtime
no_reserved_left "$ROOT" "phase 1 finished by prepare"

# Phase 2 interrupted: the old content moved, entries of the new content's
# names at the root (a file and a non-empty folder) are replaced.
ROOT=$TMP/vol-p2
mkdir "$ROOT"
make_old "$ROOT"
mkdir "$ROOT/.dockform-restore-X" "$ROOT/.dockform-old-X"
setfacl -b "$ROOT/.dockform-restore-X" # as restore makes it: no inherited ACL
helper extract "$ROOT/.dockform-restore-X" <"$TMP/new.tar" 2>/dev/null || fail "extract into the staging folder"
for e in oldfile .olddot olddir file; do mv "$ROOT/$e" "$ROOT/.dockform-old-X/"; done
printf 'partial\n' >"$ROOT/file"
mkdir -p "$ROOT/sub/stale"
touch "$ROOT/sub/stale/x"
printf '2\n' >"$ROOT/.dockform-swap-X"
helper prepare "$ROOT" >"$TMP/prepare.out" 2>"$TMP/prepare.err" || fail "prepare at phase 2: $(cat "$TMP/prepare.err")"
check_json_lines "$TMP/prepare.err"
grep -qx 'recovered=finished the swap of an interrupted restore (X, phase 2)' "$TMP/prepare.out" ||
  fail "prepare at phase 2: $(cat "$TMP/prepare.out")"
grep -qx "entries=$new_entries" "$TMP/prepare.out" || fail "prepare at phase 2: $(cat "$TMP/prepare.out")"
grep -qx 'free_kb=[0-9][0-9]*' "$TMP/prepare.out" || fail "prepare at phase 2: no free_kb line"
same_tree "$NEW" "$ROOT" "phase 2 finished by prepare"
no_reserved_left "$ROOT" "phase 2 finished by prepare"

echo "== leftovers, remove (a deep tree, symlinks not followed), snapshot refuses leftovers"
ROOT=$TMP/vol-left
mkdir -p "$ROOT/.dockform-restore-a" "$ROOT/.dockform-old-b" "$TMP/keep"
printf '3\n' >"$ROOT/.dockform-swap-c"
touch "$ROOT/x" "$ROOT/.dockform-other" "$TMP/keep/precious"
ln -s "$TMP/keep" "$ROOT/.dockform-old-b/to-keep"
# Deeper than PATH_MAX allows in one path: built level by level.
python3 - "$ROOT/.dockform-old-b" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for level in range(3000):
    os.mkdir("d", dir_fd=fd)
    if level % 100 == 0:
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
        os.symlink("/", "root-link", dir_fd=fd)
    child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = child
PY
helper leftovers "$ROOT" >"$TMP/left.out" 2>"$TMP/left.err" || fail "leftovers: $(cat "$TMP/left.err")"
[[ $(cat "$TMP/left.out") == $'.dockform-old-b\n.dockform-restore-a\n.dockform-swap-c' ]] ||
  fail "leftovers: $(cat "$TMP/left.out")"
rc=0
helper snapshot "$ROOT" >"$TMP/snap.out" 2>"$TMP/snap.err" || rc=$?
[[ $rc == 113 ]] || fail "snapshot with leftovers: exit $rc, not 113"
check_json_lines "$TMP/snap.err"
grep -q '{"level":"error","kind":"leftover","path":".dockform-old-b"' "$TMP/snap.err" ||
  fail "snapshot with leftovers: no leftover error: $(cat "$TMP/snap.err")"
[[ ! -s $TMP/snap.out ]] || fail "snapshot with leftovers wrote on stdout"
for name in ../x x .dockform-old-b/d .dockform-other; do
  rc=0
  helper remove "$ROOT" "$name" 2>"$TMP/rm.err" || rc=$?
  [[ $rc == 2 ]] || fail "remove $name: exit $rc, not 2"
  check_json_lines "$TMP/rm.err"
done
[[ -e $ROOT/x && -d $ROOT/.dockform-old-b/d ]] || fail "a refused remove removed something"
for name in .dockform-old-b .dockform-restore-a .dockform-swap-c .dockform-swap-missing; do
  helper remove "$ROOT" "$name" 2>"$TMP/rm.err" || fail "remove $name: $(cat "$TMP/rm.err")"
done
[[ $(ls -A "$ROOT") == $'.dockform-other\nx' ]] || fail "remove: left $(ls -A "$ROOT")"
[[ -e $TMP/keep/precious ]] || fail "remove followed a symlink"
helper leftovers "$ROOT" >"$TMP/left.out" 2>/dev/null || fail "leftovers of a clean root"
[[ ! -s $TMP/left.out ]] || fail "leftovers of a clean root: $(cat "$TMP/left.out")"
helper snapshot "$SRC" 2>/dev/null | sha256sum | diff - "$TMP/sum2" >/dev/null || fail "snapshot differs from create"

echo "== extract: '...' and '..../' are members, not the root"
# Only "", "." and "./" (repeated) name the destination itself: the root's
# mtime comes from the "./" member, not from a member named "..." after it.
python3 - "$TMP" <<'PY'
import io, sys, tarfile
tmp = sys.argv[1]
def folder(name, mtime):
    info = tarfile.TarInfo(name); info.type = tarfile.DIRTYPE; info.mode = 0o755; info.mtime = mtime
    return info, None
def reg(name, mtime, data=b"dots\n"):
    info = tarfile.TarInfo(name); info.size = len(data); info.mtime = mtime
    return info, io.BytesIO(data)
with tarfile.open(f"{tmp}/dots.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for info, data in (folder("./", 1000000000), reg("...", 1200000000), folder("..../", 1300000000),
                       reg("..../...", 1400000000)):
        t.addfile(info, data)
with tarfile.open(f"{tmp}/dots-root.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for info, data in (folder("././", 1100000000), reg("./f", 1200000000)):
        t.addfile(info, data)
PY
mkdir "$TMP/dots" "$TMP/dots-root"
helper extract "$TMP/dots" <"$TMP/dots.tar" 2>"$TMP/dots.err" || fail "extract of '...': $(cat "$TMP/dots.err")"
[[ -f $TMP/dots/... && -d $TMP/dots/.... && -f $TMP/dots/..../... ]] || fail "'...' members not restored: $(ls -a "$TMP/dots")"
[[ $(stat -c %Y "$TMP/dots") == 1000000000 ]] ||
  fail "the root's mtime is $(stat -c %Y "$TMP/dots"), not 1000000000 (its own member's): a '...' member was taken for the root"
[[ $(stat -c %Y "$TMP/dots/....") == 1300000000 ]] || fail "the mtime of '....' is $(stat -c %Y "$TMP/dots/....")"
helper extract "$TMP/dots-root" <"$TMP/dots-root.tar" 2>"$TMP/dots.err" || fail "extract of '././': $(cat "$TMP/dots.err")"
[[ $(stat -c %Y "$TMP/dots-root") == 1100000000 ]] || fail "a root member named '././' did not set the root's mtime"

echo "== names that only look like ours are the user's: prepare, leftovers, snapshot, remove, swap"
# Ours are a prefix and an ID (the journal also with ".tmp"): ".dockform-old-notes.txt" is a user's file.
ROOT=$TMP/vol-look
mkdir -p "$ROOT/.dockform-restore-notes.d" "$ROOT/.dockform-old-k1"
printf 'my notes\n' >"$ROOT/.dockform-old-notes.txt"
printf 'kept\n' >"$ROOT/.dockform-restore-notes.d/f"
printf '3\n' >"$ROOT/.dockform-swap-notes.txt" # a journal's content, not a journal's name
printf '2\n' >"$ROOT/.dockform-swap-a.b.tmp"
lookalikes=$'.dockform-old-notes.txt\n.dockform-restore-notes.d\n.dockform-swap-a.b.tmp\n.dockform-swap-notes.txt'
helper leftovers "$ROOT" >"$TMP/left.out" 2>"$TMP/left.err" || fail "leftovers: $(cat "$TMP/left.err")"
[[ $(cat "$TMP/left.out") == .dockform-old-k1 ]] || fail "leftovers lists user files: $(cat "$TMP/left.out")"
helper prepare "$ROOT" >"$TMP/prepare.out" 2>"$TMP/prepare.err" || fail "prepare: $(cat "$TMP/prepare.err")"
check_json_lines "$TMP/prepare.err"
expected=$'recovered=removed .dockform-old-k1 left by an interrupted restore\nentries=4\nfree_kb=K'
[[ $(sed 's/^free_kb=[0-9][0-9]*$/free_kb=K/' "$TMP/prepare.out") == "$expected" ]] ||
  fail "prepare with user files named like ours: $(cat "$TMP/prepare.out")"
[[ $(ls -A "$ROOT") == "$lookalikes" ]] || fail "prepare removed user files: left $(ls -A "$ROOT")"
[[ $(cat "$ROOT/.dockform-old-notes.txt") == 'my notes' && $(cat "$ROOT/.dockform-restore-notes.d/f") == kept ]] ||
  fail "prepare changed user files"
helper snapshot "$ROOT" >"$TMP/look.tar" 2>"$TMP/snap.err" || fail "snapshot of user files named like ours: $(cat "$TMP/snap.err")"
[[ $(tar -tf "$TMP/look.tar" | grep -c '^\./\.dockform-') == 5 ]] || fail "snapshot: $(tar -tf "$TMP/look.tar")"
rc=0
helper remove "$ROOT" .dockform-old-notes.txt 2>"$TMP/rm.err" || rc=$?
[[ $rc == 2 && -f $ROOT/.dockform-old-notes.txt ]] || fail "remove of a user file: exit $rc"
# The swap moves them out with the old content and in with the new.
LNEW=$TMP/look-new
mkdir "$LNEW"
printf 'new notes\n' >"$LNEW/.dockform-old-notes.txt"
helper create "$LNEW" >"$TMP/look-new.tar" 2>/dev/null || fail "create of the new content failed"
restore_start "$ROOT" look1
restore_expect ready
helper extract "$ROOT/.dockform-restore-look1" <"$TMP/look-new.tar" 2>"$TMP/x.err" || fail "extract: $(cat "$TMP/x.err")"
restore_send go
restore_expect live
restore_send cleanup
restore_expect swapped
restore_wait
((restore_rc == 0)) || fail "restore with user files named like ours: exit $restore_rc: $(cat "$TMP/restore.err")"
! grep -q '"level":"warning"' "$TMP/restore.err" || fail "restore: warnings: $(cat "$TMP/restore.err")"
same_tree "$LNEW" "$ROOT" "restore with user files named like ours"

echo "== restore: an archive without a root member leaves the root's owner, mode, xattrs and ACLs"
ROOT=$TMP/vol-noroot
mkdir "$ROOT"
make_old "$ROOT"
chown 1000:1000 "$ROOT"
chmod 0750 "$ROOT"
root_before=$(cd "$ROOT" && stat -c '%u:%g %a' . && getfattr -h -d -m - -e hex . && getfacl -p .)
tar -C "$NEW" --xattrs --xattrs-include='*' --acls -cf "$TMP/noroot.tar" file sub
[[ $(tar -tf "$TMP/noroot.tar" | head -1) == file ]] || fail "the archive has a root member: $(tar -tf "$TMP/noroot.tar")"
restore_start "$ROOT" noroot1
restore_expect ready
helper extract "$ROOT/.dockform-restore-noroot1" <"$TMP/noroot.tar" 2>"$TMP/x.err" ||
  fail "extract into the staging folder: $(cat "$TMP/x.err")"
restore_send go
restore_expect live
restore_send cleanup
restore_expect swapped
restore_wait
((restore_rc == 0)) || fail "restore without a root member: exit $restore_rc: $(cat "$TMP/restore.err")"
root_after=$(cd "$ROOT" && stat -c '%u:%g %a' . && getfattr -h -d -m - -e hex . && getfacl -p .)
[[ $root_after == "$root_before" ]] || fail "the root's metadata changed:"$'\n'"$root_before"$'\n'"became"$'\n'"$root_after"
[[ $(ls -A "$ROOT") == $'file\nsub' && $(cat "$ROOT/file") == new ]] || fail "without a root member: $(ls -A "$ROOT")"
# With a root member the root is the archive's.
ROOT=$TMP/vol-withroot
mkdir "$ROOT"
make_old "$ROOT"
restore_start "$ROOT" withroot1
restore_expect ready
helper extract "$ROOT/.dockform-restore-withroot1" <"$TMP/new.tar" 2>"$TMP/x.err" ||
  fail "extract into the staging folder: $(cat "$TMP/x.err")"
restore_send go
restore_expect live
restore_send cleanup
restore_expect swapped
restore_wait
same_tree "$NEW" "$ROOT" "restore with a root member"

echo "== restore --path: only the named subtrees swap, the rest keeps its inodes and times"
PSNAP=$TMP/psnap
mkdir -p "$PSNAP/keep" "$PSNAP/data/db/sub" "$PSNAP/etc" "$PSNAP/new/deep"
echo snap >"$PSNAP/data/db/a"
echo snap >"$PSNAP/data/db/sub/b"
echo conf-snap >"$PSNAP/etc/app.conf"
echo keep-snap >"$PSNAP/keep/k"
echo deep >"$PSNAP/new/deep/f"
chown 1234:5678 "$PSNAP/new"
chmod 750 "$PSNAP/new"
touch -d '2001-02-03 04:05:06' "$PSNAP/new" "$PSNAP/data/db"
helper create "$PSNAP" >"$TMP/p.tar" 2>/dev/null || fail "create of the partial snapshot failed"
PATHS=(data/db etc/app.conf new/deep)
# make_path_vol ROOT: the live content; the staging folder ID with the paths extracted.
make_path_vol() {
  mkdir -p "$1/keep" "$1/data/db" "$1/etc"
  echo live >"$1/data/db/a"
  echo added-since >"$1/data/db/c"
  echo keep-live >"$1/keep/k"
  echo conf-live >"$1/etc/app.conf"
  echo other >"$1/etc/other.conf"
  touch -d '2010-01-01 00:00:00' "$1/keep/k" "$1/etc/other.conf"
}
extract_paths() {
  helper extract "$1" --only data/db --only etc/app.conf --only new/deep <"$TMP/p.tar" 2>"$TMP/x.err" ||
    fail "extract --only: $(cat "$TMP/x.err")"
}
# check_path_vol ROOT WHAT: the paths are the snapshot's, the rest as it was.
check_path_vol() {
  diff -r "$PSNAP/data/db" "$1/data/db" >&2 || fail "$2: data/db is not the snapshot's"
  [[ $(cat "$1/etc/app.conf") == conf-snap && $(cat "$1/etc/other.conf") == other ]] || fail "$2: etc/"
  [[ $(cat "$1/keep/k") == keep-live && $(cat "$1/new/deep/f") == deep ]] || fail "$2: keep/k or new/deep/f"
  [[ $(stat -c '%u:%g %a %y' "$1/new") == "1234:5678 750 2001-02-03 04:05:06.000000000 +0000" ]] ||
    fail "$2: the missing parent new/ is not the snapshot's: $(stat -c '%u:%g %a %y' "$1/new")"
  [[ $(stat -c %y "$1/data/db") == "2001-02-03 04:05:06.000000000 +0000" ]] || fail "$2: data/db's mtime"
  [[ $(stat -c '%i %y' "$1/keep/k" "$1/etc/other.conf") == "$3" ]] || fail "$2: untouched files changed"
  no_reserved_left "$1" "$2"
}
ROOT=$TMP/vol-path
make_path_vol "$ROOT"
untouched=$(stat -c '%i %y' "$ROOT/keep/k" "$ROOT/etc/other.conf")
restore_start "$ROOT" path1 --path data/db --path etc/app.conf --path new/deep
restore_expect ready
extract_paths "$ROOT/.dockform-restore-path1"
[[ ! -e $ROOT/.dockform-restore-path1/keep && ! -e $ROOT/.dockform-restore-path1/etc/other.conf ]] ||
  fail "extract --only: members outside the paths were extracted"
restore_send go
restore_expect live
restore_send cleanup
restore_expect swapped
restore_wait
((restore_rc == 0)) || fail "restore --path: exit $restore_rc: $(cat "$TMP/restore.err")"
check_path_vol "$ROOT" "restore --path" "$untouched"

echo "== restore --path: prepare finishes partial journals at phase 1 and 2; bad ones are refused"
for phase in 1 2; do
  ROOT=$TMP/vol-path-p$phase
  make_path_vol "$ROOT"
  untouched=$(stat -c '%i %y' "$ROOT/keep/k" "$ROOT/etc/other.conf")
  mkdir "$ROOT/.dockform-restore-Q" "$ROOT/.dockform-old-Q"
  extract_paths "$ROOT/.dockform-restore-Q"
  printf '%s\n' "$phase" >"$ROOT/.dockform-swap-Q"
  printf '%s\0' "${PATHS[@]}" >>"$ROOT/.dockform-swap-Q"
  # Part of phase 1 done; in phase 2 all of it and part of phase 2.
  mkdir -p "$ROOT/.dockform-old-Q/data"
  mv "$ROOT/data/db" "$ROOT/.dockform-old-Q/data/"
  if [[ $phase == 2 ]]; then
    mkdir -p "$ROOT/.dockform-old-Q/etc"
    mv "$ROOT/etc/app.conf" "$ROOT/.dockform-old-Q/etc/"
    mv "$ROOT/.dockform-restore-Q/new" "$ROOT/new"
  fi
  helper prepare "$ROOT" >"$TMP/prepare.out" 2>"$TMP/prepare.err" || fail "prepare: $(cat "$TMP/prepare.err")"
  grep -qx "recovered=finished the swap of an interrupted restore (Q, phase $phase, 3 paths)" "$TMP/prepare.out" ||
    fail "prepare of a partial phase $phase: $(cat "$TMP/prepare.out")"
  check_path_vol "$ROOT" "partial phase $phase finished by prepare" "$untouched"
done
ROOT=$TMP/vol-path-bad
mkdir -p "$ROOT/a"
printf '1\n../a\0' >"$ROOT/.dockform-swap-B"
rc=0
helper prepare "$ROOT" >/dev/null 2>"$TMP/prepare.err" || rc=$?
[[ $rc == 1 && -d $ROOT/a && -f $ROOT/.dockform-swap-B ]] || fail "a journal with a '..' path: exit $rc"
for bad in . a/../b .dockform-old-x1/y /a; do
  rc=0
  helper restore "$ROOT" R --path "$bad" </dev/null >/dev/null 2>&1 || rc=$?
  [[ $rc == 2 ]] || fail "restore --path $bad: exit $rc, not 2"
done
rm "$ROOT/.dockform-swap-B"
# A go for a path the staging folder lacks moves nothing (no journal either).
mkdir -p "$ROOT/u/v"
echo old >"$ROOT/u/v/f"
restore_start "$ROOT" U --path u/v
restore_expect ready
restore_send go
restore_wait
[[ $restore_rc == 1 && $(cat "$ROOT/u/v/f") == old && ! -e $ROOT/.dockform-swap-U ]] ||
  fail "go for a path that is not staged: exit $restore_rc: $(cat "$TMP/restore.err")"
grep -q 'not in the staging folder' "$TMP/restore.err" || fail "go for a path that is not staged: $(cat "$TMP/restore.err")"
rm -r "$ROOT/.dockform-restore-U"
ln -s /etc "$ROOT/link"
rc=0
helper restore "$ROOT" R --path link/passwd </dev/null >/dev/null 2>"$TMP/restore.err" || rc=$?
[[ $rc == 1 ]] || fail "restore --path through a symlink: exit $rc"
grep -q '"kind":"path"' "$TMP/restore.err" || fail "restore --path through a symlink: $(cat "$TMP/restore.err")"
[[ ! -e $ROOT/.dockform-restore-R ]] || fail "restore --path through a symlink made a staging folder"

echo "== lease: ends without heartbeats, lives on them, ends with stdin"
# lease_start: the lease as nobody (it runs so in its container).
lease_start() {
  : >"$TMP/lease.err"
  coproc LEASE { exec setpriv --reuid 65534 --regid 65534 --clear-groups "$DOCKFORM_HELPER" lease 2 2>"$TMP/lease.err"; }
  # shellcheck disable=SC2153 # set by coproc
  lease_pid=$LEASE_PID
  lease_in=${LEASE[1]}
  lease_began=$EPOCHREALTIME
}
lease_wait() {
  lease_rc=0
  wait "$lease_pid" || lease_rc=$?
  lease_took=$(python3 -c "print(int((float('$EPOCHREALTIME') - float('$1')) * 1000))")
  check_json_lines "$TMP/lease.err"
  ((lease_rc == 0)) || fail "lease: exit $lease_rc: $(cat "$TMP/lease.err")"
}
lease_start
lease_wait "$lease_began"
((lease_took >= 1900 && lease_took <= 4000)) || fail "lease without heartbeats ended after $lease_took ms"
exec {lease_in}>&-
lease_start
for _ in 1 2 3 4 5; do
  sleep 1
  printf 'x' >&"$lease_in"
done
kill -0 "$lease_pid" 2>/dev/null || fail "lease: ended while heartbeats came"
closed=$EPOCHREALTIME
exec {lease_in}>&-
lease_wait "$closed"
((lease_took <= 1000)) || fail "lease: ended $lease_took ms after stdin closed"
rc=0
helper lease 1 2>"$TMP/lease.err" </dev/null || rc=$?
[[ $rc == 2 ]] || fail "lease 1: exit $rc, not 2"

echo "PASS: test_helper"
