#!/usr/bin/env bash
# Prune in a deduplicated repository (docs/storage.md, "Prune and the
# collection"): the frames only removed snapshots used are collected (a pack
# nothing uses is removed, one --repack percent (default half) unused rewritten) and the kept
# snapshots still verify and restore exactly; a prune killed at any unlink or
# link loses nothing, and the next prune ends where an uninterrupted one does;
# a snapshot and a prune's collection never overlap (the repository lock), in
# either order, so the snapshot that relies on frames the prune would remove
# keeps them; a prune that cannot have the lock removes nothing, not even what
# its retention drops.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_strace
command -v flock >/dev/null || fail "flock (util-linux) is needed"

old=${PFX}old
new=${PFX}new
repo=$TEST_TMP/repo
manifest_and_volumes repoprune "$old" "$new"
proj=$M
state() { vol_exec "$1" sh -c 'cd /v && find . -type f | sort | xargs sha256sum'; }
snapshot() { # VOLUME: a snapshot into the repository; its ref in REF
  run_df -c "$proj" volume snapshot "$1" -o "$repo" --json
  assert_eq 0 "$RC" "snapshot of $1: $ERR"
  REF=$(json_field data_file)
}
# The refs of the repository's whole snapshots (a recipe and its sidecar).
refs() {
  local recipe
  for recipe in "$repo"/snapshots/*/*.recipe; do
    [[ -e $recipe && -e ${recipe%.recipe}.json ]] || continue
    echo "$repo/$(basename "$(dirname "$recipe")")/$(basename "${recipe%.recipe}").tar.zst"
  done
}
verify_all() { # WHAT
  local ref
  for ref in $(refs); do
    run_df volume verify "$ref"
    assert_eq 0 "$RC" "verify $ref ($1): $OUT $ERR"
  done
}
names() { find "$repo/$1" -name "*.$2" -printf '%f\n' | sed "s/\.$2\$//" | sort; }
# The packs the index files list (one file lists one or several packs).
indexed() {
  python3 - "$repo/index" <<'EOF'
import glob, json, os, sys
names = set()
for path in glob.glob(os.path.join(sys.argv[1], "*.json")):
    index = json.load(open(path))
    for pack in index.get("packs", [index]):  # version 1: the file is the pack's
        names.add(pack["pack"])
print("\n".join(sorted(names)))
EOF
}
consistent() { # WHAT: every pack has its index and every index its pack
  assert_eq "$(names packs pack)" "$(indexed)" "packs and their indexes ($1)"
}
# until_locked MODE PID WHAT: waits until the repository's lock is held in
# MODE (READ: shared, WRITE: alone) while PID runs, as /proc/locks shows it.
# Looking there takes nothing: a probe with flock(1) could make the run it
# watches find the lock taken and wait without holding it.
until_locked() {
  local inode
  inode=$(stat -c %i "$repo/lock")
  until grep -Eq "FLOCK +ADVISORY +$1 +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$inode " /proc/locks; do
    kill -0 "$2" 2>/dev/null || fail "$3 ended before it took the lock: $(<"$TEST_TMP/$3.err")"
    sleep 0.02
  done
}
prune_old() { run_df -c "$proj" volume prune "$old" -o "$repo" --keep-last 1 "$@"; }
from_base() { rm -rf "$repo" && cp -a "$TEST_TMP/base" "$repo"; }

# ---------------------------------------------------------------- the repository
# Three snapshots of $old: x0 alone; then a0 and a1; then a0 and b0. Keeping
# the last one removes the first two: x0's pack holds nothing used any more,
# and the second's pack holds a1 (unused) and a0 (used by the third).
run_df repo init "$repo"
assert_eq 0 "$RC" "repo init: $ERR"
fill_random "$old" 1 4 x
snapshot "$old"
ref_x=$REF
# $new holds what the first snapshot holds: its snapshot needs x0's frames.
run_df -c "$proj" volume restore "$new" "$ref_x"
assert_eq 0 "$RC" "restore of the first snapshot into $new: $ERR"
vol_exec "$old" rm /v/x0
fill_random "$old" 1 6 a
vol_exec "$old" dd if=/dev/urandom of=/v/a1 bs=1M count=14 2>/dev/null
snapshot "$old"
vol_exec "$old" rm /v/a1
fill_random "$old" 1 3 b
snapshot "$old"
ref_keep=$REF
state_keep=$(state "$old")
cp -a "$repo" "$TEST_TMP/base"
packs_before=$(names packs pack | wc -l)

# ---------------------------------------------------------------- a dry run, then the prune
prune_old --dry-run
assert_eq 0 "$RC" "prune --dry-run: $ERR"
assert_contains "$OUT" "would be freed (dry run)" "the dry run says what the collection would free"
assert_eq "$(cd "$TEST_TMP/base" && find . | sort)" "$(cd "$repo" && find . | sort)" "a dry run changes nothing"
# --repack 100 (on a copy): the partly used pack stays; a percent past 100 is refused.
cp -a "$TEST_TMP/base" "$TEST_TMP/repack"
run_df -c "$proj" volume prune "$old" -o "$TEST_TMP/repack" --keep-last 1 --repack 100 --json
assert_eq 0 "$RC" "prune --repack 100: $ERR"
assert_eq 0 "$(json_field collected.packs_rewritten)" "--repack 100 rewrites no pack"
assert_eq 1 "$(json_field collected.packs_removed)" "--repack 100 still removes the unused pack"
assert_eq "$((packs_before - 1))" "$(find "$TEST_TMP/repack/packs" -name '*.pack' | wc -l)" "--repack 100: one pack fewer"
prune_old --repack 101
assert_eq 2 "$RC" "--repack 101"
assert_contains "$ERR" "--repack" "the refusal names the flag"
assert_eq "$(cd "$TEST_TMP/base" && find . | sort)" "$(cd "$repo" && find . | sort)" "a refused prune changes nothing"
prune_old --json
assert_eq 0 "$RC" "prune: $ERR"
assert_eq 1 "$(json_field collected.packs_removed)" "packs removed (x0's)"
assert_eq 1 "$(json_field collected.packs_rewritten)" "packs rewritten (a0 kept, a1 gone)"
freed=$(json_field collected.bytes_freed)
((freed > 17000000)) || fail "the collection freed $freed bytes; x0 and a1 are 18 MiB"
(($(json_field collected.bytes_copied) > 0)) || fail "the rewrite moved no used frame"
consistent "after the prune"
assert_eq "$((packs_before - 1))" "$(names packs pack | wc -l)" "one pack removed, one replaced by its rewrite"
assert_eq "$ref_keep" "$(refs | grep -F "$ref_keep")" "the newest snapshot is kept"
verify_all "after the prune"
reference_packs=$(names packs pack)
run_df -c "$proj" volume restore "$old" "$ref_keep" --force
assert_eq 0 "$RC" "restore after the prune: $ERR"
assert_eq "$state_keep" "$(state "$old")" "the volume restored from the kept snapshot"
prune_old
assert_eq 0 "$RC" "a second prune: $ERR"
assert_contains "$OUT" "repository: 0 unused frames" "a second prune finds nothing to collect"

# ---------------------------------------------------------------- killed at every unlink and link
# strace kills the prune (SIGKILL) as it enters its Nth unlink (or link): the
# removals of the retention, of the old indexes and packs, of temporaries, and
# the links of the rewritten pack and of its index. After each kill, every
# whole snapshot verifies; the next prune finishes and ends where the
# uninterrupted one did.
for call in unlink link; do
  for ((n = 1; ; n++)); do
    from_base
    rc=0
    strace -f -o /dev/null -e trace="$call" -e inject="$call:signal=KILL:when=$n" \
      "$DOCKFORM" -c "$proj" volume prune "$old" -o "$repo" --keep-last 1 >/dev/null 2>&1 || rc=$?
    ((rc == 0)) && break
    assert_eq 137 "$rc" "prune killed at $call $n"
    verify_all "killed at $call $n"
    prune_old
    assert_eq 0 "$RC" "the prune after a kill at $call $n: $ERR"
    consistent "after a kill at $call $n and a prune"
    assert_eq "$reference_packs" "$(names packs pack)" "the packs after a kill at $call $n and a prune"
    verify_all "after a kill at $call $n and a prune"
  done
  echo "killed at each of $((n - 1)) ${call}s"
  ((n > 2)) || fail "the prune made only $((n - 1)) ${call}s"
done

# ---------------------------------------------------------------- a snapshot, then a prune
# The snapshot of $new finds x0's frames stored and is held (strace delays its
# first link, its recipe's, by 4 s) while holding the lock; the prune that
# would collect those frames waits for it, then keeps them.
export DOCKFORM_REPO_LOCK_WAIT=2m
from_base
strace -f -o /dev/null -e trace=link -e inject=link:delay_enter=4000000:when=1 \
  "$DOCKFORM" -c "$proj" volume snapshot "$new" -o "$repo" --json >"$TEST_TMP/snapshot.out" 2>"$TEST_TMP/snapshot.err" &
snap_pid=$!
_BACKGROUND_PIDS+=("$snap_pid")
until_locked READ "$snap_pid" snapshot
prune_old
wait_exit "$snap_pid" 60 "the held snapshot"
assert_eq 0 "$rc" "the snapshot beside a prune: $(<"$TEST_TMP/snapshot.err")"
assert_eq 0 "$RC" "the prune after the snapshot: $ERR"
assert_contains "$ERR" "waiting for the repository" "the prune waited for the snapshot"
OUT=$(<"$TEST_TMP/snapshot.out")
run_df volume verify "$(json_field data_file)"
assert_eq 0 "$RC" "verify of the snapshot that relied on frames a prune collects: $OUT $ERR"
consistent "a snapshot, then a prune"

# ---------------------------------------------------------------- a prune, then a snapshot
# The prune holds the lock alone (strace delays the return of its flock by
# 4 s); the snapshot of $new waits, then stores x0's frames again if the prune
# removed them.
from_base
strace -f -o /dev/null -e trace=flock -e inject=flock:delay_exit=4000000:when=1 \
  "$DOCKFORM" -c "$proj" volume prune "$old" -o "$repo" --keep-last 1 >"$TEST_TMP/prune.out" 2>"$TEST_TMP/prune.err" &
prune_pid=$!
_BACKGROUND_PIDS+=("$prune_pid")
until_locked WRITE "$prune_pid" prune
snapshot "$new"
assert_contains "$ERR" "waiting for the repository" "the snapshot waited for the prune"
ref_new=$REF
wait_exit "$prune_pid" 60 "the held prune"
assert_eq 0 "$rc" "the prune beside a snapshot: $(<"$TEST_TMP/prune.err")"
run_df volume verify "$ref_new"
assert_eq 0 "$RC" "verify of the snapshot made after a prune: $OUT $ERR"
run_df -c "$proj" volume restore "$old" "$ref_new" --force
assert_eq 0 "$RC" "restore of that snapshot: $ERR"
assert_eq "$(state "$new")" "$(state "$old")" "the snapshot of $new restored"
consistent "a prune, then a snapshot"

# ---------------------------------------------------------------- a deadline
# flock(1) holds the lock shared (as a snapshot would) while a prune whose
# retention drops two of the three snapshots runs: the prune takes the lock
# before its retention, so it gives up at its deadline having removed nothing,
# not a recipe, not a sidecar.
from_base
tree_before=$(cd "$repo" && find . | sort)
assert_eq "3 3" "$(names snapshots recipe | wc -l) $(names snapshots json | wc -l)" "three recipes and sidecars"
rc=0
DOCKFORM_REPO_LOCK_WAIT=1s flock -s "$repo/lock" "$DOCKFORM" -c "$proj" volume prune "$old" -o "$repo" \
  --keep-last 1 >"$TEST_TMP/busy.out" 2>"$TEST_TMP/busy.err" || rc=$?
assert_eq 3 "$rc" "a prune that waited past its deadline"
assert_contains "$(<"$TEST_TMP/busy.err")" "is in use by snapshots into it or reads of its snapshots" "the error says why"
assert_eq "$tree_before" "$(cd "$repo" && find . | sort)" \
  "a prune that could not have the lock removed nothing (recipes, sidecars, packs, indexes)"
assert_not_contains "$(<"$TEST_TMP/busy.out")" "remove" "a prune that could not have the lock reports no removal"
export DOCKFORM_REPO_LOCK_WAIT=soon
run_df volume prune "$old" -o "$repo" --keep-last 1
assert_eq 2 "$RC" "a bad DOCKFORM_REPO_LOCK_WAIT: $ERR"
assert_contains "$ERR" "DOCKFORM_REPO_LOCK_WAIT=soon" "the error names the setting"

pass
