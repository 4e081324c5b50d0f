#!/usr/bin/env bash
# volume snapshot interrupted by SIGINT or SIGTERM (early, and while data
# flows): it ends within 10 s with a non-zero status and leaves no snapshot,
# no temporary file and no helper container behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools zstd

proj=$TEST_TMP/proj
big=${PFX}big
write_manifest "$proj" interrupt "$big"
engine volume create "$big" >/dev/null
# ~300 MB, mostly incompressible: a snapshot of it takes seconds.
vol_exec "$big" sh -c '
  dd if=/dev/urandom of=/v/random1 bs=1M count=200 2>/dev/null &&
  dd if=/dev/zero of=/v/zeros bs=1M count=60 2>/dev/null &&
  dd if=/dev/urandom of=/v/random2 bs=1M count=40 2>/dev/null' || fail "filling $big"

# files_under DIR: every non-folder below DIR (empty when DIR does not exist)
problems=()
# interrupt SIGNAL early|streaming: starts a snapshot of $big, sends SIGNAL as
# soon as the temporary file exists (early) or once it holds data
# (streaming), then checks the outcome. Problems are collected so that every
# case runs.
interrupt() {
  local sig=$1 when=$2 target=$TEST_TMP/sig_$1_$2 pid rc=0 i tmp="" size_test=""
  [[ $when == streaming ]] && size_test="-size +0"
  echo "--- $sig ($when)" >&2
  "$DOCKFORM" -c "$proj" -v volume snapshot "$big" -o "$target" >"$TEST_TMP/sig.out" 2>"$TEST_TMP/sig.err" </dev/null &
  pid=$!
  for ((i = 0; i < 300; i++)); do # up to ~30 s for the run to get there
    # shellcheck disable=SC2086
    tmp=$(find "$target/$big" -maxdepth 1 -name '.dockform-tmp-*' $size_test 2>/dev/null | head -1) || true
    [[ -n $tmp ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || rc=$?
    fail "the $sig/$when snapshot ended (exit $rc) before the signal could be sent: $(cat "$TEST_TMP/sig.err")"
  fi
  [[ -n $tmp ]] || echo "note: no temporary file after 30 s; sending $sig anyway" >&2
  kill -s "$sig" "$pid"
  if ! ends_within "$pid" 10; then
    problems+=("$sig/$when: dockform was still running 10 s after $sig (killed it); its stderr: $(cat "$TEST_TMP/sig.err")")
    return 0
  fi
  echo "after $sig: exit $rc, stderr: $(cat "$TEST_TMP/sig.err")" >&2
  [[ $rc != 0 ]] || problems+=("$sig/$when: the interrupted snapshot exited 0: $(cat "$TEST_TMP/sig.out")")
  local left
  left=$(files_under "$target")
  [[ -z $left ]] || problems+=("$sig/$when: files left behind: $left")
  left=$(helpers_of -a "$big")
  [[ -z $left ]] || problems+=("$sig/$when: helper containers left for $big: $left")
  left=$(engine ps -aq --filter "volume=$big")
  [[ -z $left ]] || problems+=("$sig/$when: containers still using $big: $left")
}
interrupt INT streaming
interrupt TERM streaming
interrupt INT early

if ((${#problems[@]} > 0)); then
  fail "$(printf '\n  %s' "${problems[@]}")"
fi

# the volume still snapshots fine afterwards (a stale helper or lock would get in the way)
run_df -c "$proj" volume snapshot "$big" -o "$TEST_TMP/after"
assert_eq 0 "$RC" "snapshot after the interrupted runs"
data=$(find "$TEST_TMP/after/$big" -name '*.tar.zst')
[[ -n $data ]] || fail "no snapshot after the interrupted runs"
zstd -q -t "$data" || fail "zstd -t rejects $data"

pass
