#!/usr/bin/env bash
# stages: sanitize
# How a snapshot judges what the helper's tar said, with stand-in helper
# images whose /bin/sh plays a tar that met a changing volume:
#   paths that vanished (busybox's words, exit 1, archive complete): written,
#     exit 0, each path a warning; stderr shows 10 and a count, --json all
#   "short read" on every try: all 5 tries reported, exit 1, nothing written
#   "Permission denied" (exit 1, archive complete): exit 1 with tar's words
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vol=${PFX}v
M=$TEST_TMP/manifest
write_manifest "$M" verdicttest "$vol"
engine volume create "$vol" >/dev/null
vol_exec "$vol" sh -euc 'echo a > /v/a; mkdir /v/d; echo b > /v/d/b'

# fake_image NAME BODY: an image whose /bin/sh runs BODY (busybox ash) in place
# of the archive script; busybox is at /bin/busybox.
fake_image() {
  local name=$1 body=$2 root=$TEST_TMP/root-$1
  mkdir -p "$root/bin" "$root/tmp"
  cp "$(readlink -f /bin/busybox)" "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [[ $applet == sh || $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  # Only the snapshot's archive script meets the stand-in; the other helper
  # scripts (looking for a restore's leftovers) run as they are.
  printf '#!/bin/busybox ash\ncase "$2" in *"tar -cf - ."*) ;; *) exec /bin/busybox ash "$@" ;; esac\n%s\n' "$body" >"$root/bin/sh"
  chmod 755 "$root/bin/sh"
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . | engine import - "dockform-test/${PFX}$name:1" >/dev/null
  FAKE_IMAGES+=("dockform-test/${PFX}$name:1")
}
FAKE_IMAGES=()
trap 'rc=$?; engine image rm -f "${FAKE_IMAGES[@]}" >/dev/null 2>&1; (exit $rc); _on_exit' EXIT

fake_image vanished 'cd /volume || exit 111
/bin/busybox tar -cf - .
i=0; while [ $i -lt 12 ]; do echo "tar: ./gone$i: No such file or directory" >&2; i=$((i+1)); done
echo "tar: error exit delayed from previous errors" >&2
exit 1'
fake_image shortread 'cd /volume || exit 111
/bin/busybox tar -cf - . | /bin/busybox head -c 700
echo "tar: short read" >&2
exit 1'
fake_image denied 'cd /volume || exit 111
/bin/busybox tar -cf - .
echo "tar: ./secret: Permission denied" >&2
echo "tar: error exit delayed from previous errors" >&2
exit 1'

# --- Vanished paths: a snapshot with warnings. ---
run_df -c "$M" --helper-image "dockform-test/${PFX}vanished:1" volume snapshot "$vol" -o "$TEST_TMP/s1" --json
assert_eq 0 "$RC" "snapshot while paths vanished"
assert_contains "$ERR" "12 path(s) changed while they were read" "stderr counts the changed paths"
assert_contains "$ERR" "./gone0: No such file or directory" "stderr names the first path"
assert_not_contains "$ERR" "./gone11:" "stderr stops after 10 paths"
assert_contains "$ERR" "and 2 more" "stderr gives the count of the rest"
n=$(python3 -c 'import json,sys; w=json.loads(sys.argv[1])["warnings"]; print(len([x for x in w if x.startswith("./gone")]))' "$OUT")
assert_eq 12 "$n" "--json lists every changed path under warnings"
snap=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["data_file"])' "$OUT")
run_df volume verify "$snap"
assert_eq 0 "$RC" "the archive written despite vanished paths verifies"

# --- short read on every try: bounded retries, then a failure. ---
run_df -c "$M" --helper-image "dockform-test/${PFX}shortread:1" volume snapshot "$vol" -o "$TEST_TMP/s2"
assert_eq 1 "$RC" "snapshot whose tar always dies with short read"
for try in 1 2 3 4; do
  assert_contains "$ERR" "try $try of 5: the helper's tar stopped at a file that shrank" "try $try is reported"
done
assert_contains "$ERR" "all 5 tries stopped at a file that changed while it was read" "final message"
[[ -z $(find "$TEST_TMP/s2" -type f 2>/dev/null) ]] || fail "files written after failed tries: $(find "$TEST_TMP/s2" -type f)"

# --- Another read error: fails with tar's own words. ---
run_df -c "$M" --helper-image "dockform-test/${PFX}denied:1" volume snapshot "$vol" -o "$TEST_TMP/s3"
assert_eq 1 "$RC" "snapshot with a permission error"
assert_contains "$ERR" "the helper's tar failed (exit 1)" "failure message"
assert_contains "$ERR" "./secret: Permission denied" "tar's words in the failure"
[[ -z $(find "$TEST_TMP/s3" -type f 2>/dev/null) ]] || fail "files written after a read error"
pass
