# shellcheck shell=bash
# Remote transports for the end-to-end tests (sourced after lib.sh). scripts/test
# starts them with scripts/lib/remote.sh: the private engine also listens with
# TLS on 127.0.0.1, and an sshd of its own on 127.0.0.1 reaches it.
#
#   over TRANSPORT ARGS...   run_df through "tls", "ssh" or "unix"
#   transport_env TRANSPORT  the environment assignments of that transport, one a line
#   ssh_left                 ssh processes still running with this test's ssh config

for _v in TLS_HOST TLS_CERTS WRONG_CERTS SSH_HOST SSH_OPTS DOCKER_CONFIG; do
  _n=DOCKFORM_TEST_REMOTE_$_v
  [[ -n ${!_n:-} ]] || fail "$_n is not set (scripts/test sets up the remote transports with scripts/lib/remote.sh)"
done

# This test's own copy of the ssh client config: ssh_left then finds only our ssh processes.
SSH_CONFIG=$TEST_TMP/ssh_config
cp "${DOCKFORM_TEST_REMOTE_SSH_OPTS#-F }" "$SSH_CONFIG"

transport_env() {
  case $1 in
    tls)
      printf '%s\n' "DOCKER_HOST=$DOCKFORM_TEST_REMOTE_TLS_HOST" DOCKER_TLS_VERIFY=1 \
        "DOCKER_CERT_PATH=$DOCKFORM_TEST_REMOTE_TLS_CERTS"
      ;;
    ssh) printf '%s\n' "DOCKER_HOST=$DOCKFORM_TEST_REMOTE_SSH_HOST" "DOCKFORM_SSH_OPTS=-F $SSH_CONFIG" ;;
    unix) printf '%s\n' "DOCKER_HOST=$DOCKER_HOST" ;;
    *) fail "unknown transport $1" ;;
  esac
}

over() {
  local -a vars
  mapfile -t vars < <(transport_env "$1")
  shift
  echo "+ ($(printf '%s ' "${vars[@]}"))" >&2
  local o=$TEST_TMP/.out e=$TEST_TMP/.err
  RC=0
  env "${vars[@]}" "$DOCKFORM" "$@" >"$o" 2>"$e" </dev/null || RC=$?
  OUT=$(<"$o")
  ERR=$(<"$e")
}

ssh_left() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "-F $SSH_CONFIG" && echo "${p#/proc/}"
  done
  return 0
}

# assert_no_ssh_left: waits a moment (the kernel delivers the parent-death signal
# asynchronously), then fails if any ssh of this test still runs.
assert_no_ssh_left() {
  local i left
  for ((i = 0; i < 50; i++)); do
    left=$(ssh_left)
    [[ -z $left ]] && return 0
    sleep 0.1
  done
  fail "ssh processes outlived dockform: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
}

# assert_no_helper_left VOLUME...: no helper container uses these volumes
# (waits up to 10 s for a removal the engine is still finishing).
assert_no_helper_left() {
  local v left deadline=$((SECONDS + 10))
  for v in "$@"; do
    while left=$(helpers_of -a "$v") &&
      [[ -n $left ]]; do
      ((SECONDS < deadline)) || fail "helper container(s) left on $v: $left"
      sleep 0.1
    done
  done
}

# remote_roundtrip TRANSPORT: apply, snapshot, list, verify, restore into an
# empty volume and over a volume in use (--force --stop-containers), SIGKILL
# mid-restore then a recovering restore, all through TRANSPORT.
remote_roundtrip() {
  local t=$1 src=${PFX}src dst=${PFX}dst busy=${PFX}busy big=${PFX}big bigdst=${PFX}bigdst M=$TEST_TMP/m
  write_manifest "$M" "remote$t" "$src" "$dst" "$busy" "$big" "$bigdst"
  over "$t" -c "$M" apply
  assert_eq 0 "$RC" "apply over $t"
  for v in "$src" "$dst" "$busy" "$big" "$bigdst"; do
    engine volume inspect "$v" >/dev/null 2>&1 || fail "apply over $t did not create $v"
  done

  fill_tricky "$src"
  # Several MB of random data: many TLS records / ssh packets each way.
  vol_exec "$src" sh -c 'dd if=/dev/urandom of=/v/more.bin bs=1M count=24 2>/dev/null'
  local want
  want=$(tree_listing "$src")
  over "$t" -c "$M" volume snapshot "$src" -o "$TEST_TMP/snaps" --json
  assert_eq 0 "$RC" "snapshot over $t"
  local snap
  snap=$(json_field data_file)
  assert_file_exists "$snap"

  over "$t" -c "$M" volume list "$src" -o "$TEST_TMP/snaps" --json
  assert_eq 0 "$RC" "list over $t"
  assert_contains "$OUT" "$(basename "$snap")" "list over $t shows the snapshot"
  over "$t" -c "$M" volume verify "$snap"
  assert_eq 0 "$RC" "verify over $t"

  over "$t" -c "$M" volume restore "$dst" "$snap"
  assert_eq 0 "$RC" "restore into an empty volume over $t"
  assert_eq "$want" "$(tree_listing "$dst")" "restored tree over $t"

  vol_exec "$busy" sh -c 'echo old > /v/old.txt'
  engine run -d --name "${PFX}user" --network none -v "$busy:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sleep 600 >/dev/null
  over "$t" -c "$M" volume restore "$busy" "$snap" --force --stop-containers
  assert_eq 0 "$RC" "restore --force --stop-containers over $t"
  assert_eq "$want" "$(tree_listing "$busy")" "tree restored over a volume in use over $t"
  assert_eq true "$(engine inspect --format '{{.State.Running}}' "${PFX}user")" "the user container runs again"

  remote_kill_and_recover "$t" "$M" "$big" "$bigdst"
  assert_no_helper_left "$src" "$dst" "$busy" "$big" "$bigdst"
  assert_no_ssh_left
}

remote_kill_and_recover() {
  local t=$1 M=$2 big=$3 target=$4
  fill_random "$big" 30 4 b
  local want
  want=$(tree_listing "$big")
  run_df -c "$M" volume snapshot "$big" -o "$TEST_TMP/bigsnaps" --level 1 --json
  assert_eq 0 "$RC" "snapshot of the big volume"
  local snap
  snap=$(json_field data_file)
  vol_exec "$target" sh -c 'echo old > /v/old.txt'

  local -a vars
  mapfile -t vars < <(transport_env "$t")
  touch "$TEST_TMP/kill.mark"
  env "${vars[@]}" "$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force \
    >"$TEST_TMP/killed.out" 2>"$TEST_TMP/killed.err" </dev/null &
  kill_while_extracting "$!" "$target" "$TEST_TMP/killed.err" 120
  assert_no_ssh_left
  # Nothing of the killed run stays in /tmp (the ssh transport's socket file goes once connected).
  # dockform-io.* folders are the local channel's, which remote transports never use: another
  # test's run on the local engine (ctest -j2) may hold one.
  local left
  left=$(find /tmp -maxdepth 1 -name 'dockform*' ! -name 'dockform-io.*' -newer "$TEST_TMP/kill.mark" 2>/dev/null)
  [[ -z $left ]] || fail "the restore SIGKILLed over $t left in /tmp: $left"
  # The lock is a lease on the killed run's connection: the engine ends it by itself.
  local i
  for ((i = 0; i < 100; i++)); do engine inspect "dockform-lock-$target" >/dev/null 2>&1 || break; sleep 0.1; done
  if engine inspect "dockform-lock-$target" >/dev/null 2>&1; then
    fail "the lock of the restore killed over $t is still there 10 s later"
  fi

  over "$t" -c "$M" volume restore "$target" "$snap" --force
  assert_eq 0 "$RC" "restore over $t after a killed one"
  assert_contains "$ERR" "interrupted restore" "the recovering restore over $t cleans up"
  assert_eq "$want" "$(tree_listing "$target")" "recovered tree over $t"
}
