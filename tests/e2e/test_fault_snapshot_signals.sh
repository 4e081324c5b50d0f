#!/usr/bin/env bash
# stages: sanitize
# volume snapshot of ~250 MB hit by signals at points test_snapshot_interrupt.sh
# does not cover (it covers SIGINT early and SIGINT/SIGTERM once the temporary
# file holds data):
#  - SIGTERM early (as soon as the helper container exists, before data flows)
#    and SIGTERM / SIGINT late (the temporary file past 100 MB): exit within
#    10 s, non-zero, no final-named file, no temporary file (.dockform-tmp-*),
#    no helper container;
#  - SIGKILL while data flows: a temporary file and the helper container may
#    remain right after; the next snapshot of the volume into the same folder
#    removes both, says so ("left by an interrupted run" / "left behind by an
#    interrupted run") and writes exactly one complete snapshot.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd

proj=$TEST_TMP/proj
big=${PFX}big
write_manifest "$proj" faultsignals "$big"
engine volume create "$big" >/dev/null
# ~250 MB of incompressible data: a snapshot of it takes a few seconds.
fill_random "$big" 25 10
vol_exec "$big" sh -c 'echo small > /v/small.txt' || fail "filling $big"

fault_trap

# start_and_wait DIR early|late: starts a snapshot of $big into DIR; returns
# once its helper container exists (early) or its temporary file holds more
# than 100 MB (late).
start_and_wait() {
  local dir=$1 when=$2 i tmp rc=0
  "$DOCKFORM" -c "$proj" volume snapshot "$big" -o "$dir" --level 1 >"$TEST_TMP/sig.out" 2>"$TEST_TMP/sig.err" </dev/null &
  df_pid=$!
  for ((i = 0; i < 1500; i++)); do # up to ~30 s
    if [[ $when == early ]]; then
      [[ -n $(helpers_of -a "$big") ]] && return 0
    else
      tmp=$(find "$dir/$big" -maxdepth 1 -name '.dockform-tmp-*' -size +100M 2>/dev/null | head -1) || true
      [[ -n $tmp ]] && return 0
    fi
    kill -0 "$df_pid" 2>/dev/null || break
    sleep 0.02
  done
  wait "$df_pid" || rc=$?
  df_pid=
  fail "the snapshot ended (exit $rc) or stalled before the $when point: $(cat "$TEST_TMP/sig.err")"
}

# interrupt SIGNAL early|late: SIGTERM/SIGINT end it cleanly within 10 s.
interrupt() {
  local sig=$1 when=$2 dir=$TEST_TMP/sig_$1_$2 rc=0
  echo "--- $sig ($when)"
  start_and_wait "$dir" "$when"
  kill -s "$sig" "$df_pid"
  if ! ends_within "$df_pid" 10; then
    df_pid=
    fail "$sig/$when: dockform still ran 10 s after $sig; its stderr: $(cat "$TEST_TMP/sig.err")"
  fi
  df_pid=
  echo "exit $rc; stderr: $(cat "$TEST_TMP/sig.err")"
  ((rc != 0)) || fail "$sig/$when: the interrupted snapshot exited 0"
  assert_contains "$(cat "$TEST_TMP/sig.err")" "interrupted by SIG$sig" "$sig/$when: the message says why it stopped"
  assert_eq "" "$(files_under "$dir")" "$sig/$when: files left behind"
  assert_eq "" "$(helpers_of -a "$big")" "$sig/$when: helper containers left behind"
}
interrupt TERM early
interrupt TERM late
interrupt INT late

# --- SIGKILL while data flows
echo "--- KILL (late)"
kdir=$TEST_TMP/sig_KILL
start_and_wait "$kdir" late
kill -9 "$df_pid"
wait "$df_pid" 2>/dev/null || true
df_pid=
left_files=$(files_under "$kdir")
left_helpers=$(helpers_of -a "$big")
echo "right after SIGKILL: files [$left_files], helpers [$left_helpers]"
[[ $left_files != *.tar.zst* && $left_files != *.json* ]] || fail "a final-named file exists after SIGKILL: $left_files"

run_df -c "$proj" volume snapshot "$big" -o "$kdir" --level 1 --json
echo "--- next snapshot:"$'\n'"$ERR"
assert_eq 0 "$RC" "the snapshot after a SIGKILLed one"
# The temporary file held 100 MB when the run was killed: it cannot have gone.
[[ $left_files == *.dockform-tmp-* ]] || fail "no temporary file right after SIGKILL (it held 100 MB): [$left_files]"
assert_contains "$ERR" "left by an interrupted run" "the next snapshot says it removed the killed run's temporary file"
if [[ -n $left_helpers ]]; then
  assert_contains "$ERR" "left behind by an interrupted run" "the next snapshot says it removed the killed run's helper"
fi
assert_eq "" "$(helpers_of -a "$big")" "helper containers after the next snapshot"
mapfile -t after < <(files_under "$kdir")
assert_eq 2 "${#after[@]}" "files after the next snapshot (one data file and its sidecar, no temporary): ${after[*]}"
data=$(json_field data_file)
assert_file_exists "$data" "data file of the next snapshot"
assert_file_exists "${data%.tar.zst}.json" "sidecar of the next snapshot"
zstd -q -t "$data" || fail "zstd -t rejects $data"
assert_eq "$(sha256sum <"$data" | cut -c1-64)" \
  "$(json_field checksum.tar_zst "${data%.tar.zst}.json")" \
  "the sidecar's checksum of the next snapshot"

pass
