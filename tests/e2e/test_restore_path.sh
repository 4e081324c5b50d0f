#!/usr/bin/env bash
# slow
# volume restore --path: only the named subtrees are replaced (a folder with
# its whole subtree, a file, a folder whose parent the volume lacks); every
# other entry keeps its content, inode and mtime. A path not in the snapshot
# (exit 2) and a damaged snapshot (exit 3) leave the volume as it was; a
# user of the volume is stopped only with --stop-containers.
# test_fault_restore_path_kill.sh kills the partial swap half-way.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

src=${PFX}src
target=${PFX}target
app=${PFX}app
manifest_and_volumes restorepath "$src" "$target"
fault_trap "dockform-lock-$target" "dockform-stopped-$target"

# The snapshot: data/db/gone and data/db/sub are deleted from the live
# volume since, deep/ is missing there entirely.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$src" sh -euc '
  cd /v
  mkdir -p keep data/db/sub etc deep/a
  echo snap-a > data/db/a; echo snap-b > data/db/sub/b; echo deleted-since > data/db/gone
  echo conf-snap > etc/app.conf; echo other-snap > etc/other.conf; echo keep-snap > keep/k
  echo leaf > deep/a/leaf
  chown 1234:5678 deep; chmod 750 deep; touch -d "2001-02-03 04:05:06" deep data/db'
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/snaps" --json
assert_eq 0 "$RC" "snapshot of $src"
snap=$(json_field data_file)
sidecar=${snap%.tar.zst}.json
PATHS=(--path data/db --path /etc/app.conf --path ./deep/a/)

fill_live() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  vol_exec "$target" sh -euc '
    cd /v; rm -rf ./* ./.[!.]* 2>/dev/null || true
    mkdir -p keep data/db etc
    echo live-a > data/db/a; echo added-since > data/db/added
    echo conf-live > etc/app.conf; echo other-live > etc/other.conf; echo keep-live > keep/k; echo top > top.txt
    touch -d "2010-01-01 00:00:00" keep/k etc/other.conf top.txt'
}
# The replaced subtrees and the rest, as tree_listing (fixtures.sh) shows them.
replaced() { tree_listing "$1" | grep -e '^.|\./data/db[|/]' -e '^.|\./etc/app\.conf|' -e '^.|\./deep[|/]'; }
rest() { tree_listing "$1" | grep -v -e '^count=' -e '^.|\./data/db[|/]' -e '^.|\./etc/app\.conf|' -e '^.|\./deep[|/]'; }
stamps() { vol_exec "$target" stat -c '%n %i %y %s' /v/keep/k /v/etc/other.conf /v/top.txt /v/keep /v/etc; }
want=$(replaced "$src")
# check_restored WHAT: the paths are the snapshot's, everything else as before.
check_restored() {
  [[ $(replaced "$target") == "$want" ]] || {
    diff <(echo "$want") <(replaced "$target") >&2 || true
    fail "$1: the replaced subtrees are not the snapshot's (diff above)"
  }
  [[ $(rest "$target") == "$rest_before" ]] || {
    diff <(echo "$rest_before") <(rest "$target") >&2 || true
    fail "$1: entries outside the paths changed (diff above)"
  }
  # Inodes and nanosecond mtimes of the untouched files, and of the folders
  # that hold no replaced path.
  assert_eq "$(grep -v '^/v/etc ' <<<"$stamps_before")" "$(stamps | grep -v '^/v/etc ')" "$1: untouched inodes or mtimes"
  assert_eq "1234:5678 750 2001-02-03 04:05:06.000000000" \
    "$(vol_exec "$target" stat -c '%u:%g %a %y' /v/deep | cut -d' ' -f1-4)" "$1: the missing parent deep/ from the snapshot"
  assert_eq "2001-02-03 04:05:06.000000000" "$(vol_exec "$target" stat -c '%y' /v/data/db | cut -d' ' -f1-2)" "$1: data/db's mtime"
  assert_no_leftovers "$target" "$1"
}
fill_live
rest_before=$(rest "$target")
stamps_before=$(stamps)

echo "=== a path not in the snapshot, a bad path: exit 2, nothing touched"
keep_untouched "$target"
run_df -c "$M" volume restore "$target" "$snap" --path data/db --path no/such
assert_eq 2 "$RC" "restore --path no/such"
assert_contains "$ERR" "--path no/such is not in snapshot" "unknown path message"
check_untouched "unknown path"
run_df -c "$M" volume restore "$target" "$snap" --path data/../../etc
assert_eq 2 "$RC" "restore --path with .."
assert_contains "$ERR" "'..'" "'..' message"
check_untouched "a path with .."

echo "=== a damaged snapshot (sidecar beside it): exit 3, nothing touched"
mkdir -p "$TEST_TMP/flip"
cp "$snap" "$TEST_TMP/flip/flipped.tar.zst"
cp "$sidecar" "$TEST_TMP/flip/flipped.json"
python3 - "$TEST_TMP/flip/flipped.tar.zst" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(40)
    b = f.read(1)
    f.seek(40)
    f.write(bytes([b[0] ^ 0x10]))
EOF
run_df -c "$M" volume restore "$target" "$TEST_TMP/flip/flipped.tar.zst" "${PATHS[@]}"
assert_eq 3 "$RC" "restore --path of a damaged snapshot"
assert_contains "$ERR" "checksum mismatch" "damaged snapshot message"
check_untouched "damaged snapshot"

echo "=== a user of the volume: refused without --stop-containers"
# $app notes each start and each SIGTERM in a host folder (the kill tests below wait for it).
sig=$TEST_TMP/sig
mkdir -p "$sig"
: >"$sig/terms"
# shellcheck disable=SC2016 # expanded by the container's shell
engine run -d --name "$app" --network none --log-driver none -v "$target:/data" -v "$sig:/sig" \
  "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c '
    trap "echo term >>/sig/terms; sleep 1; exit 0" TERM
    sleep 3600 & wait' >/dev/null
wait_running "$app"
keep_untouched "$target" "$app"
run_df -c "$M" volume restore "$target" "$snap" "${PATHS[@]}"
assert_eq 3 "$RC" "restore --path while $app uses the volume"
assert_contains "$ERR" "--stop-containers" "refusal names --stop-containers"
check_untouched "refused for a user"

echo "=== --stop-containers: the paths replaced, nothing else; no --force needed"
app_before=$(state_of "$app")
run_df -c "$M" volume restore "$target" "$snap" "${PATHS[@]}" --stop-containers --json
assert_eq 0 "$RC" "restore --path --stop-containers: $ERR"
assert_eq '["data/db", "deep/a", "etc/app.conf"]' "$(json_field --json paths)" "--json paths"
assert_eq true "$(json_field checksum_verified)" "checksum verified"
assert_eq "[\"$app\"]" "$(json_field --json containers_started)" "$app started again"
[[ $(state_of "$app") != "$app_before" ]] || fail "$app was not restarted"
check_restored "restore --path"
run_df -c "$M" volume restore "$target" "$snap" --path etc/app.conf --stop-containers
assert_eq 0 "$RC" "restore of one file: $ERR"
assert_contains "$OUT" "restored etc/app.conf from $snap into volume $target" "text output names the path"
check_restored "restore of one file, again"

pass
