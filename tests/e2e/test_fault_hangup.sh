#!/usr/bin/env bash
# stages: sanitize
# Hang-ups are handled like SIGTERM: clean up, release, exit non-zero.
#  1. SIGHUP while a snapshot streams (temporary file past 10 MB): exit 1,
#     "interrupted by SIGHUP"; no final or temporary file, no helper.
#  2. SIGHUP while a restore extracts: exit 1, "interrupted by SIGHUP"; the
#     volume is unchanged, no .dockform-* entry, helper, lock or lease left.
#  3. stderr is a pipe whose reader is gone (`dockform ... 2>&1 | head`
#     after head exited): the first log line breaks it; the snapshot stops,
#     cleans up and exits non-zero.
#  4. stdout is such a pipe: the result cannot be written: exit non-zero.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

big_and_target hanguptest

fill_random "$big" 40 4
no_helpers() { # WHAT VOLUME [PID]: no helper on VOLUME, no lease of dockform PID (other tests share the engine)
  if [[ -n $(helpers_of -a "$2") ]]; then
    fail "$1: helper containers left: $(engine ps -a --filter label=io.dockform.helper)"
  fi
  if [[ -n ${3-} && -n $(settled engine ps -aq --filter label=io.dockform.lease --filter "label=io.dockform.pid=$3") ]]; then
    fail "$1: lease containers left: $(engine ps -a --filter label=io.dockform.lease)"
  fi
}
hung_up() { # N: $df_pid, hung up in case N, ends within 60 s, exit 1, saying why; its stderr in $err
  wait_exit "$df_pid" 60 "$1 (after the hang-up)"
  df_pid=""
  err=$(<"$TEST_TMP/$1.err")
  assert_eq 1 "$rc" "$1: exit code after SIGHUP [$err]"
  assert_contains "$err" "interrupted by SIGHUP" "$1: message"
}

# ------------------------------------------------------------------ 1. SIGHUP during a snapshot
out=$TEST_TMP/hup
"$DOCKFORM" -c "$M" volume snapshot "$big" -o "$out" --level 1 >"$TEST_TMP/1.out" 2>"$TEST_TMP/1.err" </dev/null &
df_pid=$!
pid=$df_pid
signal_when "$df_pid" HUP temp_file_over "$out" "$big" 10 ||
  fail "1: the snapshot ended before the hang-up: $(cat "$TEST_TMP/1.err")"
hung_up 1
assert_eq "" "$(find "$out" -mindepth 1 -not -type d)" "1: files left by the hung-up snapshot"
no_helpers 1 "$big" "$pid"

# ------------------------------------------------------------------ 2. SIGHUP during a restore
snapshot_of "$big" --level 1
vol_exec "$target" sh -c 'echo old > /v/old.txt; mkdir /v/keep; echo deep > /v/keep/f' || fail "filling $target"
before=$(tree_listing "$target")
"$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/2.out" 2>"$TEST_TMP/2.err" </dev/null &
df_pid=$!
pid=$df_pid
# Looked at from this machine, in the volume's folder (the local driver keeps
# it here): another container on the volume would make the restore refuse
# (containers in use), and the helper has no shell to ask.
target_dir=$(engine volume inspect -f '{{.Mountpoint}}' "$target")
extracting() {
  compgen -G "$target_dir/.dockform-restore-*/r1" >/dev/null
}
signal_when "$df_pid" HUP extracting || fail "2: the restore ended before the hang-up: $(cat "$TEST_TMP/2.err")"
hung_up 2
assert_eq "$before" "$(tree_listing "$target")" "2: the volume after the hung-up restore"
engine inspect "dockform-lock-$target" >/dev/null 2>&1 && fail "2: lock container left"
no_helpers 2 "$target" "$pid"

# ------------------------------------------------------------------ 3 and 4. broken output pipes
# run_broken FD ARGS...: runs dockform with fd FD (1 or 2) on a pipe whose reader is closed.
run_broken() {
  python3 - "$@" <<'EOF'
import os, subprocess, sys
fd = int(sys.argv[1])
r, w = os.pipe()
os.close(r)
other = open(os.environ["TEST_TMP"] + "/broken.other", "w")
out = w if fd == 1 else other
err = w if fd == 2 else other
rc = subprocess.run([os.environ["DOCKFORM"]] + sys.argv[2:], stdin=subprocess.DEVNULL, stdout=out, stderr=err).returncode
print(rc)
EOF
}
export TEST_TMP
out3=$TEST_TMP/broken3
rc=$(run_broken 2 -c "$M" -v volume snapshot "$big" -o "$out3" --level 1)
[[ $rc != 0 ]] || fail "3: exit 0 with stderr on a closed pipe"
assert_eq "" "$(find "$out3" -mindepth 1 -not -type d 2>/dev/null)" "3: files left with stderr on a closed pipe"
no_helpers 3 "$big"
rc=$(run_broken 1 -c "$M" volume list "$big" -o "$TEST_TMP/snaps" --json)
# As tar's listing into `| head`: quietly, status 141 (128 + SIGPIPE).
assert_eq 141 "$rc" "4: exit status with stdout on a closed pipe"
assert_not_contains "$(<"$TEST_TMP/broken.other")" "could not write" "4: a closed pipe ends the list quietly"

pass
