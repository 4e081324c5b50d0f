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
need_tools age-keygen

src_and_target restorepath

# shellcheck source-path=SCRIPTDIR source=restore_path_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/restore_path_lib.sh"
sidecar=${snap%.tar.zst}.json
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
flip_byte "$TEST_TMP/flip/flipped.tar.zst" 40 0x10
run_df -c "$M" volume restore "$target" "$TEST_TMP/flip/flipped.tar.zst" "${PATHS[@]}"
assert_eq 3 "$RC" "restore --path of a damaged snapshot"
assert_contains "$ERR" "checksum mismatch" "damaged snapshot message"
check_untouched "damaged snapshot"

echo "=== a sidecar that records another index: exit 3 before the lock, nothing touched"
mkdir -p "$TEST_TMP/otherindex"
cp "$snap" "$TEST_TMP/otherindex/other.tar.zst"
python3 - "$sidecar" "$TEST_TMP/otherindex/other.json" <<'EOF'
import json, sys
sidecar = json.load(open(sys.argv[1]))
sidecar["index_sha256"] = "0" * 64
json.dump(sidecar, open(sys.argv[2], "w"), indent=2)
EOF
run_df -c "$M" volume restore "$target" "$TEST_TMP/otherindex/other.tar.zst" "${PATHS[@]}"
assert_eq 3 "$RC" "restore --path with another index_sha256 in the sidecar"
assert_contains "$ERR" "says $(printf '0%.0s' {1..64}) for the index" "the refusal names the recorded index"
check_untouched "another index in the sidecar"

echo "=== a user of the volume: refused without --stop-containers"
# $app notes each SIGTERM in $TERMS (the kill tests below wait for it).
run_noting_user "$app" "$target" 1
wait_running "$app"
keep_untouched "$target" "$app"
run_df -c "$M" volume restore "$target" "$snap" "${PATHS[@]}"
assert_eq 3 "$RC" "restore --path while $app uses the volume"
assert_contains "$ERR" "--stop-containers" "refusal names --stop-containers"
check_untouched "refused for a user"

echo "=== an encrypted snapshot: a path not in it is refused from the index, before the lock"
# Before the lock and the user check: the refusal is exit 2 for the path,
# not exit 3 for the running user (the walk under the lock would come after).
age-keygen -o "$TEST_TMP/key.txt" 2>/dev/null
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/enc" -r "$(age-keygen -y "$TEST_TMP/key.txt")" --json
assert_eq 0 "$RC" "encrypted snapshot: $ERR"
enc=$(json_field data_file)
run_df -c "$M" volume restore "$target" "$enc" -i "$TEST_TMP/key.txt" --path data/db --path no/such
assert_eq 2 "$RC" "restore --path no/such of an encrypted snapshot"
assert_contains "$ERR" "--path no/such is not in snapshot" "unknown path message (encrypted)"
check_untouched "unknown path in an encrypted snapshot"

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
