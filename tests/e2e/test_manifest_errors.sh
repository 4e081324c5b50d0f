#!/usr/bin/env bash
# stages: sanitize
# Manifest errors: exit 5, and messages that name FILE:LINE:COL; finding the
# manifest through -c FILE, -c DIR and the current folder.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

ident="${PFX}id"
n=0
# new_manifest NAME TEXT: writes $TEST_TMP/NAME/dockform.yml; prints the folder.
new_manifest() {
  mkdir -p "$TEST_TMP/$1"
  printf '%s' "$2" >"$TEST_TMP/$1/dockform.yml"
  echo "$TEST_TMP/$1"
}
# expect_manifest_error DIR LINE MESSAGE...: validate fails with exit 5 and the
# error names DIR/dockform.yml:LINE: and every MESSAGE.
expect_manifest_error() {
  local dir=$1 line=$2 needle
  shift 2
  n=$((n + 1))
  run_df -c "$dir" validate
  assert_eq 5 "$RC" "case $n ($dir): exit code"
  [[ $ERR =~ $dir/dockform\.yml:$line:[0-9]+: ]] ||
    fail "case $n: stderr does not name $dir/dockform.yml:$line:COL: [$ERR]"
  for needle in "$@"; do assert_contains "$ERR" "$needle" "case $n: message"; done
  assert_eq "" "$OUT" "case $n: nothing on stdout"
}

# --- broken YAML: the line of the mistake
d=$(new_manifest yaml1 $'docker:\n  identifier: x\nvolumes:\n  a: {}\n  b: c: d\nnetworks: {}\n')
expect_manifest_error "$d" 5 "invalid YAML"
d=$(new_manifest yaml2 $'# a comment\ndocker:\n  identifier: x\nvolumes:\n  a: {}\n  b: {}\n     c: {}\n')
expect_manifest_error "$d" 7 "invalid YAML"
d=$(new_manifest yaml3 $'docker:\n  identifier: x\nvolumes:\n  a: {}\n  b: "unterminated\n  c: {}\n')
run_df -c "$d" validate
assert_eq 5 "$RC" "unterminated string: exit code"
[[ $ERR =~ $d/dockform\.yml:[56]:[0-9]+: ]] || fail "unterminated string: no file:line in [$ERR]"

# --- missing docker.identifier: at the docker key, or at the start without one
d=$(new_manifest noident $'# comment\n\ndocker:\n  context: default\nvolumes:\n  a: {}\n')
expect_manifest_error "$d" 3 "docker.identifier"
d=$(new_manifest nodocker $'volumes:\n  a: {}\n')
expect_manifest_error "$d" 1 "docker.identifier"
d=$(new_manifest badident $'docker:\n  identifier: Not-Valid\n')
expect_manifest_error "$d" 2 "Not-Valid" "identifier"

# --- unknown top-level key "volume:" (a typo of volumes)
d=$(new_manifest unknownkey "docker:
  identifier: $ident
volumes:
  ok: {}
volume:
  a: {}
")
expect_manifest_error "$d" 5 "unknown top-level key 'volume'"
# and an unknown key inside a volume
d=$(new_manifest unknownvolkey "docker:
  identifier: $ident
volumes:
  ok:
    drivr: local
")
expect_manifest_error "$d" 5 "drivr"

# --- bad volume names
d=$(new_manifest badname "docker:
  identifier: $ident
volumes:
  good: {}
  Bad Name: {}
")
expect_manifest_error "$d" 5 "'Bad Name'" "not a valid volume name"
d=$(new_manifest dotdot "docker:
  identifier: $ident
volumes:
  '..': {}
")
expect_manifest_error "$d" 4 "not a valid volume name"

# --- no manifest in the folder
mkdir -p "$TEST_TMP/empty"
run_df -c "$TEST_TMP/empty" validate
assert_eq 5 "$RC" "no manifest: exit code"
assert_contains "$ERR" "no manifest found" "no manifest: message"
assert_contains "$ERR" "$TEST_TMP/empty" "no manifest: names the folder"
cd "$TEST_TMP/empty"
run_df validate
cd - >/dev/null
assert_eq 5 "$RC" "no manifest in the current folder: exit code"
assert_contains "$ERR" "no manifest found" "no manifest in the current folder: message"
run_df -c "$TEST_TMP/empty/missing.yml" validate
assert_eq 5 "$RC" "-c with a missing file: exit code"
assert_contains "$ERR" "missing.yml" "-c with a missing file: message"

# --- -c FILE and -c DIR both work (and the current folder)
good="docker:
  identifier: $ident
volumes:
  ${PFX}v1: {}
  ${PFX}v2: {}
"
mkdir -p "$TEST_TMP/good"
printf '%s' "$good" >"$TEST_TMP/good/custom-name.yml"
run_df -c "$TEST_TMP/good/custom-name.yml" validate
assert_eq 0 "$RC" "-c FILE: exit code"
assert_contains "$OUT" "$TEST_TMP/good/custom-name.yml is valid" "-c FILE names the file"
assert_contains "$OUT" "2 volumes" "-c FILE reads the file"
run_df -c "$TEST_TMP/good" validate
assert_eq 5 "$RC" "-c DIR without a dockform.yml (custom-name.yml does not count)"
printf '%s' "$good" >"$TEST_TMP/good/dockform.yaml"
run_df -c "$TEST_TMP/good" validate
assert_eq 0 "$RC" "-c DIR: exit code"
assert_contains "$OUT" "$TEST_TMP/good/dockform.yaml is valid" "-c DIR finds dockform.yaml"
run_df -c "$TEST_TMP/good/" validate
assert_eq 0 "$RC" "-c DIR/: exit code"
# dockform.yml wins over dockform.yaml
printf 'docker:\n  identifier: %s\n' "$ident" >"$TEST_TMP/good/dockform.yml"
run_df -c "$TEST_TMP/good" validate
assert_eq 0 "$RC" "-c DIR with two manifests: exit code"
assert_contains "$OUT" "$TEST_TMP/good/dockform.yml is valid" "dockform.yml is preferred"
assert_contains "$OUT" "0 volumes" "the preferred manifest is the one read"
# global flag after the command
run_df validate -c "$TEST_TMP/good/custom-name.yml"
assert_eq 0 "$RC" "-c after the command: exit code"
assert_contains "$OUT" "custom-name.yml is valid" "-c after the command"
cd "$TEST_TMP/good"
run_df validate
cd - >/dev/null
assert_eq 0 "$RC" "manifest in the current folder: exit code"
assert_contains "$OUT" "$TEST_TMP/good/dockform.yml is valid" "manifest in the current folder"

# --- ${REQUIRED:?message}
d=$(new_manifest required "docker:
  identifier: $ident
filesets:
  assets:
    source: ./assets
    target_volume: \${DF_E2E_REQUIRED:?must be set}
    target_path: /srv
")
n=$((n + 1))
RC=0
OUT=$(env -u DF_E2E_REQUIRED "$DOCKFORM" -c "$d" validate 2>"$TEST_TMP/err") || RC=$?
ERR=$(<"$TEST_TMP/err")
assert_eq 5 "$RC" "required variable unset: exit code"
assert_contains "$ERR" "must be set" "required variable unset: message"
assert_contains "$ERR" "DF_E2E_REQUIRED" "required variable unset: names the variable"
[[ $ERR =~ $d/dockform\.yml:6:[0-9]+: ]] || fail "required variable unset: no file:6:COL in [$ERR]"
RC=0
OUT=$(DF_E2E_REQUIRED="${PFX}assets" "$DOCKFORM" -c "$d" validate 2>"$TEST_TMP/err") || RC=$?
ERR=$(<"$TEST_TMP/err")
assert_eq 0 "$RC" "required variable set: exit code"
assert_contains "$OUT" "1 volumes" "required variable set: the fileset's volume is declared"

pass
