# shellcheck shell=bash
# The --path restore's volumes, snapshot and checks, shared by
# test_restore_path.sh and test_fault_restore_path_kill.sh (after lib.sh and
# src_and_target: $src, $target and $M set). Sets snap and PATHS;
# check_restored needs rest_before and stamps_before.
# shellcheck disable=SC2154,SC2034 # shared with the sourcing script
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
snapshot_of "$src"
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
