#!/usr/bin/env bash
# `volume restore --no-privileged-bits` (and `volume copy --no-privileged-bits`)
# for archives made elsewhere: of an archive holding a setuid file, a setgid
# file, a file with a capability (setcap), a character and a block device, the
# restore drops the setuid/setgid bits, does not set the capability and skips
# the devices, with a warning naming each path, and exits 0; a FIFO, a plain
# file and a setgid folder are restored as they are. Without the flag all of
# it is restored.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd tar setcap getcap mknod
((EUID == 0)) || fail "making device nodes and a capability on the host needs root"
GNUTAR=$DOCKFORM_TEST_GNUTAR_IMAGE
kept=${PFX}kept
dropped=${PFX}dropped
copied=${PFX}copied
M=$TEST_TMP/manifest
write_manifest "$M" untrusted "$kept" "$dropped" "$copied"
for v in "$kept" "$dropped"; do engine volume create "$v" >/dev/null; done

# The archive, made on this host as another machine would.
u=$TEST_TMP/untrusted
mkdir -p "$u/sgid-dir"
echo suid >"$u/suid" && chmod 4755 "$u/suid"
echo sgid >"$u/sgid" && chmod 2755 "$u/sgid"
echo cap >"$u/cap" && chmod 755 "$u/cap" && setcap cap_net_raw+ep "$u/cap"
[[ $(getcap "$u/cap") == *cap_net_raw* ]] || fail "setcap did not take on $u (the host's filesystem)"
mknod -m 0666 "$u/null" c 1 3
mknod -m 0660 "$u/loop" b 7 0
mkfifo -m 0640 "$u/fifo"
echo plain >"$u/plain"
chmod 2775 "$u/sgid-dir"
tar --numeric-owner --xattrs --xattrs-include='*' -C "$u" -cf - . | zstd -q >"$TEST_TMP/untrusted.tar.zst"

# state VOLUME: per path its type, mode and device numbers, and the capability (hex).
state() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  engine run --rm --network none --log-driver none -v "$1:/v:ro" "$GNUTAR" sh -c '
    cd /v && for p in suid sgid cap null loop fifo plain sgid-dir; do
      if [ -e "$p" ] || [ -L "$p" ]; then stat -c "%n %F %a %t,%T" "$p"; else echo "$p missing"; fi
    done
    getfattr -n security.capability -e hex cap 2>/dev/null | grep = || echo "cap: no capability"' ||
    fail "reading $1"
}
# check_dropped VOLUME WHAT: what --no-privileged-bits restores.
check_dropped() {
  local got
  got=$(state "$1")
  for line in "suid regular file 755 " "sgid regular file 755 " "cap regular file 755 " "null missing" \
    "loop missing" "fifo fifo 640 " "plain regular file 644 " "sgid-dir directory 2775 " "cap: no capability"; do
    assert_contains "$got" "$line" "$2"
  done
  assert_eq "plain" "$(vol_exec "$1" cat /v/plain)" "$2: a plain file's content"
}
# check_warnings WHAT: one warning naming each path whose privileges were dropped.
check_warnings() {
  local warnings
  warnings=$(json_field --json warnings)
  for path in ./suid ./sgid ./cap ./null ./loop; do
    assert_contains "$warnings" "\"$path: " "$1: a warning naming $path"
  done
  for path in ./fifo ./plain ./sgid-dir; do
    assert_not_contains "$warnings" "\"$path: " "$1: no warning for $path"
  done
}

# --- Without the flag: everything restored. ---
run_df -c "$M" volume restore "$kept" "$TEST_TMP/untrusted.tar.zst" --json
assert_eq 0 "$RC" "restore without --no-privileged-bits"
got=$(state "$kept")
for line in "suid regular file 4755 " "sgid regular file 2755 " "null character special file 666 1,3" \
  "loop block special file 660 7,0" "fifo fifo 640 " "sgid-dir directory 2775 " "security.capability=0x"; do
  assert_contains "$got" "$line" "restore without --no-privileged-bits"
done

# --- With the flag: dropped, one warning a path, exit 0. ---
run_df -c "$M" volume restore "$dropped" "$TEST_TMP/untrusted.tar.zst" --no-privileged-bits --json
assert_eq 0 "$RC" "restore with --no-privileged-bits"
check_warnings "restore --no-privileged-bits"
check_dropped "$dropped" "restore --no-privileged-bits"
# The text output names the paths too.
run_df -c "$M" volume restore "$dropped" "$TEST_TMP/untrusted.tar.zst" --no-privileged-bits --force
assert_eq 0 "$RC" "restore --force with --no-privileged-bits"
assert_contains "$ERR" "./suid: setuid/setgid bits not restored" "the warning on stderr"
check_dropped "$dropped" "restore --no-privileged-bits --force"

# --- volume copy --no-privileged-bits from the volume that has them all. ---
run_df -c "$M" volume copy "$kept" --to "$DOCKER_HOST" --as "$copied" --no-privileged-bits --json
assert_eq 0 "$RC" "volume copy --no-privileged-bits"
check_warnings "volume copy --no-privileged-bits"
check_dropped "$copied" "volume copy --no-privileged-bits"

pass
