#!/usr/bin/env bash
# stages: sanitize
# volume restore refuses unsafe archives (built with python3's tarfile, as
# .tar.zst and plain .tar): an absolute path, '..', a member written through a
# symlink to /, a hardlink to ../../etc/passwd. Each time: exit 3, "unsafe",
# the volume's tree unchanged (no stray entry written anywhere in it), no
# .dockform-* staging left, the container using the volume neither stopped nor
# restarted, no helper or lock container left behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

live=${PFX}live
app=${PFX}app
manifest_and_volumes restoretest "$live" "${PFX}control"

fill_known "$live"
run_user "$app" "$live"
# check_untouched WHAT: the volume, its user and the engine are as before.
keep_untouched "$live" "$app"

# --- 7. Unsafe archives. ---
mkdir -p "$TEST_TMP/unsafe"
python3 - "$TEST_TMP/unsafe" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
def member(name, kind="file", target="", data=b"evil\n"):
    info = tarfile.TarInfo(name)
    info.mtime = 1000000000
    if kind == "dir":
        info.type = tarfile.DIRTYPE; info.mode = 0o755
    elif kind == "sym":
        info.type = tarfile.SYMTYPE; info.linkname = target
    elif kind == "hard":
        info.type = tarfile.LNKTYPE; info.linkname = target
    else:
        info.size = len(data); info.mode = 0o644
    return info, (io.BytesIO(data) if kind == "file" else None)
def write(name, members):
    with tarfile.open(f"{out}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        for info, data in members:
            t.addfile(info, data)
    # tarfile keeps the names as given (it only drops a trailing '/' when
    # reading): check nothing was rewritten.
    with tarfile.open(f"{out}/{name}.tar") as t:
        names = [(m.name, m.linkname) for m in t.getmembers()]
    assert names == [(i.name.rstrip("/") or "/", i.linkname) for i, _ in members], names
def safe():
    return [member("./", "dir"), member("./ok.txt", data=b"ok\n")]
# The same builder with safe members only: restores (the control case).
write("control", safe() + [member("./d", "dir"), member("./d/f", data=b"fine\n"), member("./d/l", "sym", "../ok.txt"),
                         member("./d/h", "hard", "ok.txt")])
write("absolute", safe() + [member("/etc/evil")])
write("dotdot", safe() + [member("../evil")])
write("symlink", safe() + [member("./link", "sym", "/"), member("./link/evil")])
write("hardlink", safe() + [member("./h", "hard", "../../etc/passwd")])
EOF
for name in control absolute dotdot symlink hardlink; do
  zstd -q -k "$TEST_TMP/unsafe/$name.tar" -o "$TEST_TMP/unsafe/$name.tar.zst"
done

run_df -c "$M" volume restore "${PFX}control" "$TEST_TMP/unsafe/control.tar.zst"
assert_eq 0 "$RC" "restore of the control archive (safe members only)"
assert_eq "$(printf 'ok\nfine\nok\nok')" \
  "$(vol_exec "${PFX}control" sh -c 'cat /v/ok.txt /v/d/f /v/d/l /v/d/h')" "content of the control archive"
assert_eq "2" "$(vol_exec "${PFX}control" stat -c %h /v/d/h)" "the control archive's hardlink"

check_evil_name() { # KIND: the message names the offending member
  case $1 in
    absolute) assert_contains "$ERR" "/etc/evil" "absolute: message names the member" ;;
    dotdot) assert_contains "$ERR" "../evil" "dotdot: message names the member" ;;
    symlink) assert_contains "$ERR" "link/evil" "symlink: message names the member" ;;
    hardlink) assert_contains "$ERR" "../../etc/passwd" "hardlink: message names the target" ;;
  esac
}
for file in absolute.tar.zst dotdot.tar.zst symlink.tar.zst hardlink.tar.zst absolute.tar symlink.tar; do
  run_df -c "$M" volume restore "$live" "$TEST_TMP/unsafe/$file" --force --stop-containers
  assert_eq 3 "$RC" "restore of unsafe archive $file"
  assert_contains "$ERR" "unsafe" "$file: refusal message"
  check_evil_name "${file%%.*}"
  check_untouched "unsafe archive $file"
done

pass
