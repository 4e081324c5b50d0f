#!/usr/bin/env bash
# stages: podman
# The local fast path (src/volume/local_channel.hpp): the archive of a
# snapshot and of a restore goes through a Unix socket in a private folder
# under $TMPDIR, not through the engine's attach relay, once the helper
# proved it sees the folder.
#  - on this engine the channel is taken (debug line), the snapshot is the
#    one attach gives (same tar SHA-256, same files), and the folder is gone;
#    a restore over the channel brings back the same tree;
#  - DOCKFORM_TRANSPORT=attach forces the relay (debug line), both ways;
#  - an engine that cannot see the folder (dockform in a mount namespace of
#    its own, its $TMPDIR on a private tmpfs) falls back to attach with a
#    debug line saying why, and the snapshot and the restore are the same;
#  - DOCKFORM_TRANSPORT=fast is a usage error (exit 2);
#  - Ctrl-C while the archive flows through the channel: exit 1, nothing
#    left in $TMPDIR, no helper left;
#  - kill -9 while it flows: the folder stays (nothing can remove it), and
#    the next run removes it (its owner file names a process that is gone).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools unshare
vol=${PFX}vol
manifest_and_volumes transport "$vol"
vol_exec "$vol" sh -c 'i=0; while [ $i -lt 50 ]; do echo "file $i" >/v/f$i; i=$((i+1)); done; mkdir /v/d; dd if=/dev/urandom of=/v/d/blob bs=1M count=8 2>/dev/null'
IO=$TEST_TMP/io
mkdir "$IO"

snapshot() { # OUT-DIR [ENV...]: a snapshot with debug lines, $TMPDIR=$IO
  local out=$1
  shift
  OUT="" ERR=""
  set +e
  env TMPDIR="$IO" "$@" "$DOCKFORM" -c "$M" --log-level debug volume snapshot "$vol" -o "$out" --json \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  RC=$?
  set -e
  OUT=$(<"$TEST_TMP/out") ERR=$(<"$TEST_TMP/err")
}

# ---- the channel, and the relay when asked ----------------------------------
snapshot "$TEST_TMP/channel" env -u DOCKFORM_TRANSPORT
assert_eq 0 "$RC" "snapshot over the local channel: $ERR"
assert_contains "$ERR" "transport: local channel" "the debug line names the channel"
channel_tar=$(json_field index_sha256 "$(json_field sidecar_file)")
channel_files=$(json_field file_count "$(json_field sidecar_file)")
assert_eq "" "$(ls -A "$IO")" "the channel's folder is removed"

snapshot "$TEST_TMP/attach" DOCKFORM_TRANSPORT=attach
assert_eq 0 "$RC" "snapshot over attach: $ERR"
assert_contains "$ERR" "transport: attach (DOCKFORM_TRANSPORT=attach)" "the debug line names the forced relay"
assert_not_contains "$ERR" "transport: local channel" "no channel when attach is forced"
assert_eq "$channel_tar" "$(json_field index_sha256 "$(json_field sidecar_file)")" "the same tar over both transports"
assert_eq 51 "$channel_files" "files in the snapshot"

# ---- restores over both transports ---------------------------------------------
want=$(tree_listing "$vol")
snap=$(json_field data_file)
for transport in channel attach; do
  dst=${PFX}dst_$transport
  engine volume create "$dst" >/dev/null
  write_manifest "$TEST_TMP/m-$transport" "transport-$transport" "$dst"
  extra=(env -u DOCKFORM_TRANSPORT)
  [[ $transport == attach ]] && extra=(env DOCKFORM_TRANSPORT=attach)
  set +e
  "${extra[@]}" TMPDIR="$IO" "$DOCKFORM" -c "$TEST_TMP/m-$transport" --log-level debug volume restore "$dst" "$snap" \
    --force >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  RC=$?
  set -e
  ERR=$(<"$TEST_TMP/err")
  assert_eq 0 "$RC" "restore over $transport: $ERR"
  if [[ $transport == channel ]]; then
    assert_contains "$ERR" "transport: local channel" "the restore took the channel"
  else
    assert_not_contains "$ERR" "transport: local channel" "the restore took attach when forced"
  fi
  assert_eq "$want" "$(tree_listing "$dst")" "the tree restored over $transport"
  assert_eq "" "$(ls -A "$IO")" "the channel's folder is removed after the restore over $transport"
done

# ---- an engine that cannot see the folder -------------------------------------
# dockform's $TMPDIR is a tmpfs only its own mount namespace has: the engine
# bind-mounts an (empty) folder of the same name from its own namespace, the
# helper finds no token there and exits 114, and dockform runs it over attach.
mkdir "$TEST_TMP/private"
set +e
unshare --mount --propagation private bash -c '
  mount -t tmpfs none "$1" && TMPDIR=$1 "$2" -c "$3" --log-level debug volume snapshot "$4" -o "$5" --json' \
  _ "$TEST_TMP/private" "$DOCKFORM" "$M" "$vol" "$TEST_TMP/unseen" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
RC=$?
set -e
OUT=$(<"$TEST_TMP/out") ERR=$(<"$TEST_TMP/err")
assert_eq 0 "$RC" "snapshot when the engine cannot see the folder: $ERR"
# dockerd makes the missing folder (empty: the helper exits 114), Podman refuses the container.
grep -qE 'transport: attach \((the helper could not use|the engine refused) the local channel' <<<"$ERR" ||
  fail "the fallback says why: $ERR"
assert_eq "$channel_tar" "$(json_field index_sha256 "$(json_field sidecar_file)")" "the same tar after the fallback"
assert_eq "" "$(helpers_of -a "$vol")" "no helper left after the fallback"
dst=${PFX}dst_unseen
engine volume create "$dst" >/dev/null
write_manifest "$TEST_TMP/m-unseen" transport-unseen "$dst"
set +e
unshare --mount --propagation private bash -c '
  mount -t tmpfs none "$1" && TMPDIR=$1 "$2" -c "$3" --log-level debug volume restore "$4" "$5" --force' \
  _ "$TEST_TMP/private" "$DOCKFORM" "$TEST_TMP/m-unseen" "$dst" "$snap" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
RC=$?
set -e
ERR=$(<"$TEST_TMP/err")
assert_eq 0 "$RC" "restore when the engine cannot see the folder: $ERR"
grep -qE 'transport: attach \((the helper could not use|the engine refused) the local channel' <<<"$ERR" ||
  fail "the restore's fallback says why: $ERR"
assert_eq "$want" "$(tree_listing "$dst")" "the tree restored after the fallback"

# ---- a value that is neither auto nor attach ------------------------------------
snapshot "$TEST_TMP/bad" DOCKFORM_TRANSPORT=fast
assert_eq 2 "$RC" "DOCKFORM_TRANSPORT=fast"
assert_contains "$ERR" "DOCKFORM_TRANSPORT must be auto or attach, got 'fast'" "the bad value is named"
assert_eq "" "$(helpers_of -a "$vol")" "no helper made for a bad DOCKFORM_TRANSPORT"

# streaming_snapshot NAME: a snapshot into $TEST_TMP/NAME in the background
# (pid in df_pid, stderr in $TEST_TMP/NAME.err), once its file is being written
# and its channel is set up. The file is opened before the channel's folder is
# made, and the folder gets its owner record just after: a kill between the two
# left a folder that no later run may judge (run 23 of docs/testing.md).
streaming_snapshot() {
  TMPDIR="$IO" "$DOCKFORM" -c "$M" volume snapshot "$vol" -o "$TEST_TMP/$1" 2>"$TEST_TMP/$1.err" &
  df_pid=$!
  local deadline=$((SECONDS + 60))
  until { compgen -G "$TEST_TMP/$1/$vol/.*" >/dev/null || compgen -G "$TEST_TMP/$1/$vol/*" >/dev/null; } &&
    compgen -G "$IO/dockform-io.*/socket" >/dev/null; do
    ((SECONDS < deadline)) || fail "$1: the snapshot never started writing"
    sleep 0.05
  done
}

# ---- Ctrl-C while the archive flows through the channel -----------------------
vol_exec "$vol" sh -c 'dd if=/dev/urandom of=/v/d/big bs=1M count=400 2>/dev/null'
streaming_snapshot interrupted
kill -INT "$df_pid"
set +e
wait "$df_pid"
rc=$?
set -e
assert_eq 1 "$rc" "Ctrl-C during a channel snapshot (exit 1, as for every signal)"
assert_contains "$(<"$TEST_TMP/interrupted.err")" "interrupted by SIGINT; cleaned up" "Ctrl-C's message"
assert_eq "" "$(ls -A "$IO")" "nothing left in \$TMPDIR after Ctrl-C"
assert_eq "" "$(settled helpers_of -a "$vol")" "no helper left after Ctrl-C"

# ---- kill -9 while the archive flows: the next run removes the dead run's folder --
streaming_snapshot killed
kill -9 "$df_pid"
wait "$df_pid" 2>/dev/null || true
df_pid=
[[ -n $(ls -A "$IO") ]] || fail "a SIGKILLed run could not have removed its channel's folder"
# Folders without an owner record (a run killed between making the folder and
# writing the record): one two hours old is removed, a fresh one (a run that
# is starting) stays.
mkdir "$IO/dockform-io.ownerless-old" "$IO/dockform-io.ownerless-new"
touch -d '2 hours ago' "$IO/dockform-io.ownerless-old"
snapshot "$TEST_TMP/after-kill" env -u DOCKFORM_TRANSPORT
assert_eq 0 "$RC" "the snapshot after a killed one: $ERR"
assert_contains "$ERR" "left by a dockform run that is gone" "the next run names the dead run's folder"
assert_contains "$ERR" "dockform-io.ownerless-old, left without an owner record" "the old owner-less folder is named"
assert_eq "dockform-io.ownerless-new" "$(ls -A "$IO")" "the next run removed the killed runs' folders (and its own)"
rmdir "$IO/dockform-io.ownerless-new"
pass
