#!/usr/bin/env bash
# stages: podman
# Security defaults.
#  - The snapshot helper, inspected while it streams ~200 MB: network none
#    (and networking disabled), CapDrop ALL with only DAC_READ_SEARCH,
#    DAC_OVERRIDE and SYS_ADMIN (trusted.* xattrs) added, not privileged, no-new-privileges, log driver none,
#    the volume mounted read-only.
#  - The restore's extracting helper, inspected while it extracts: the volume
#    mounted read-write (needed), still network none, CapDrop ALL with only
#    the file capabilities the extraction needs (and SYS_ADMIN for trusted.*), not privileged, no-new-privileges, log
#    driver none. The lock container (a lease): network none, no mount, no
#    capability, read-only root, removed by the engine when it ends.
#  - Interpolation never runs commands: "$(touch FILE)" and `touch FILE` in
#    the identifier, the context, the helper image, a fileset source and a
#    ${VAR:-default} never create FILE (validate, plan, snapshot).
#  - No secret in logs: with DOCKER_CONFIG holding a registry auth, a snapshot
#    and a helper pull from that registry at --log-level debug with
#    --log-file: neither stderr nor the log file holds the auth string or
#    its decoded text.
# (Snapshot files are 0600: test_snapshot_basic.sh.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

big_and_target faultsecurity

fill_random "$big" 20 10
vol_exec "$target" sh -c 'echo old > /v/old.txt'

# catch_helper VOLUME extract|snapshot FILE: waits for dockform's helper for
# VOLUME (extract: the one with stdin open) and writes its `docker inspect` to FILE.
catch_helper() {
  local vol=$1 kind=$2 file=$3 i id
  for ((i = 0; i < 1500; i++)); do
    for id in $(helpers_of "$vol"); do
      if [[ $kind == snapshot || $(engine inspect -f '{{.Config.OpenStdin}}' "$id" 2>/dev/null) == true ]]; then
        engine inspect "$id" >"$file" 2>/dev/null && return 0
      fi
    done
    kill -0 "$df_pid" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}
# check_helper FILE RW ALLOWED_CAPS...: the security settings of an inspected helper.
check_helper() {
  python3 - "$@" <<'EOF' || fail "helper settings (inspect in $1)"
import json, sys
path, rw, *allowed = sys.argv[1:]
c = json.load(open(path))[0]
h, cfg = c["HostConfig"], c["Config"]
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
want(h["NetworkMode"] == "none", f"NetworkMode {h['NetworkMode']!r}, expected 'none'")
# Podman's inspect lists the capabilities the container gets (EffectiveCaps,
# CAP_ names) and leaves out NetworkDisabled; dockerd's shows CapDrop ALL + CapAdd.
effective = c.get("EffectiveCaps")
if effective is None:
    want(cfg.get("NetworkDisabled") is True, f"Config.NetworkDisabled {cfg.get('NetworkDisabled')!r}")
    want("ALL" in (h.get("CapDrop") or []), f"CapDrop {h.get('CapDrop')!r} lacks ALL")
    added = set(h.get("CapAdd") or [])
else:
    added = {cap.removeprefix("CAP_") for cap in effective}
want(added <= set(allowed), f"capabilities {sorted(added)} go beyond {sorted(allowed)}")
want(h["Privileged"] is False, "Privileged")
want("no-new-privileges" in (h.get("SecurityOpt") or []), f"SecurityOpt {h.get('SecurityOpt')!r}")
want(h["LogConfig"]["Type"] == "none", f"LogConfig.Type {h['LogConfig']['Type']!r}")
want(not (h.get("PidMode") or "").startswith("host") and not (h.get("IpcMode") or "").startswith("host"),
     "host pid/ipc namespace")
want(not h.get("Devices"), f"Devices {h.get('Devices')!r}")
# Besides the volume, at most the local channel's folder (README, "The local
# channel"): a read-only bind at /dockform-io.
mounts = [m for m in c["Mounts"] if m.get("Destination") != "/dockform-io"]
for m in c["Mounts"]:
    if m.get("Destination") == "/dockform-io":
        want(m["Type"] == "bind" and m["RW"] is False, f"the channel's mount {m!r}, expected a read-only bind")
want(len(mounts) == 1, f"{len(mounts)} mounts, expected only the volume")
for m in mounts:
    want(m["Type"] == "volume", f"mount type {m['Type']!r}")
    want(m["RW"] is (rw == "rw"), f"mount RW {m['RW']!r}, expected {rw}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"{path}: network none, CapDrop ALL, CapAdd {sorted(added)}, not privileged, "
      f"no-new-privileges, log none, volume {rw}")
EOF
}
wait_df() { # WHAT: waits for the background run; it must succeed
  local rc=0
  wait "$df_pid" || rc=$?
  df_pid=
  assert_eq 0 "$rc" "$1 ($(cat "$TEST_TMP/bg.err"))"
}

# ------------------------------------------------------------------ snapshot helper
"$DOCKFORM" -c "$M" volume snapshot "$big" -o "$TEST_TMP/snaps" --level 1 --json >"$TEST_TMP/bg.out" 2>"$TEST_TMP/bg.err" </dev/null &
df_pid=$!
catch_helper "$big" snapshot "$TEST_TMP/snap-helper.json" || fail "no snapshot helper seen while the snapshot ran"
wait_df "snapshot of $big"
check_helper "$TEST_TMP/snap-helper.json" ro DAC_READ_SEARCH DAC_OVERRIDE SYS_ADMIN
snap=$(json_field data_file "$TEST_TMP/bg.out")

# ------------------------------------------------------------------ restore helper and lock
"$DOCKFORM" -c "$M" volume restore "$target" "$snap" --force >"$TEST_TMP/bg.out" 2>"$TEST_TMP/bg.err" </dev/null &
df_pid=$!
catch_helper "$target" extract "$TEST_TMP/restore-helper.json" || fail "no extracting helper seen while the restore ran"
engine inspect "dockform-lock-$target" >"$TEST_TMP/lock.json" 2>/dev/null || fail "no lock container while the restore extracts"
wait_df "restore into $target"
check_helper "$TEST_TMP/restore-helper.json" rw CHOWN DAC_OVERRIDE FOWNER FSETID MKNOD SETFCAP SYS_ADMIN
python3 - "$TEST_TMP/lock.json" <<'EOF' || fail "lock container settings"
import json, sys
c = json.load(open(sys.argv[1]))[0]
assert c["HostConfig"]["NetworkMode"] == "none", c["HostConfig"]["NetworkMode"]
assert c["State"]["Running"] is True, c["State"]  # a lease: it runs while its holder lives
assert c["HostConfig"]["AutoRemove"] is True
# No capability at all: dockerd shows CapDrop [ALL]; Podman lists what it dropped
# and shows what is left as EffectiveCaps.
if "EffectiveCaps" not in c:
    assert c["HostConfig"]["CapDrop"] == ["ALL"] and not c["HostConfig"]["CapAdd"], c["HostConfig"]
else:
    assert not c["EffectiveCaps"] and not c["HostConfig"]["CapAdd"], (c["EffectiveCaps"], c["HostConfig"])
assert c["HostConfig"]["ReadonlyRootfs"] is True
assert c["HostConfig"]["LogConfig"]["Type"] == "none"
assert not c["Mounts"], c["Mounts"]
assert c["HostConfig"]["Privileged"] is False
EOF

# ------------------------------------------------------------------ interpolation runs no command
pw=$TEST_TMP/pwned
inj=$TEST_TMP/inject
mkdir -p "$inj/bad" "$inj/ok" "$inj/ctx"
# shellcheck disable=SC2016 # the $(...) and backquotes are the payload
cat >"$inj/bad/dockform.yml" <<EOF
docker:
  identifier: "x\$(touch $pw.1)\`touch $pw.2\`"
volumes: {}
EOF
# shellcheck disable=SC2016
cat >"$inj/ok/dockform.yml" <<EOF
docker:
  identifier: ${PFX}inject
  helper_image: "busybox\$(touch $pw.3):\`touch $pw.4\`"
volumes:
  ${PFX}big: {}
filesets:
  assets:
    source: "\${DF_E2E_UNSET_VAR:-./a\$(touch $pw.5)\`touch $pw.6\`}"
    target_volume: ${PFX}big
    target_path: "/srv\$(touch $pw.7)"
EOF
# shellcheck disable=SC2016
cat >"$inj/ctx/dockform.yml" <<EOF
docker:
  identifier: ${PFX}inject
  context: "c\$(touch $pw.8)\`touch $pw.9\`"
volumes: {}
EOF
run_df -c "$inj/bad" validate
assert_eq 5 "$RC" "validate of an identifier holding \$(...) and backquotes"
assert_contains "$ERR" "identifier" "the error is about the identifier"
unset DF_E2E_UNSET_VAR
run_df -c "$inj/ok" validate
assert_eq 0 "$RC" "validate with \$(...) and backquotes in the helper image, a fileset source and target_path"
run_df -c "$inj/ok" plan
assert_eq 0 "$RC" "plan with the same manifest"
# DOCKFORM_HELPER_IMAGE would win over the manifest's helper_image: unset here.
RC=0
env -u DOCKFORM_HELPER_IMAGE "$DOCKFORM" -c "$inj/ok" volume snapshot "$big" -o "$TEST_TMP/inj-snaps" \
  >"$TEST_TMP/inj.out" 2>"$TEST_TMP/inj.err" </dev/null || RC=$?
OUT=$(<"$TEST_TMP/inj.out") ERR=$(<"$TEST_TMP/inj.err")
echo "snapshot with a helper image holding \$(...): exit $RC: $ERR"
((RC != 0)) || fail "a snapshot with the helper image 'busybox\$(touch ...)' succeeded"
run_df -c "$inj/ctx" validate
echo "validate with a payload in the context: exit $RC: $ERR"
((RC != 0)) || fail "validate with an unknown context exited 0"
left=$(find "$TEST_TMP" -maxdepth 1 -name 'pwned*')
assert_eq "" "$left" "files created by \$(...) or backquotes in manifest values"

# ------------------------------------------------------------------ no secret in logs
cfg=$TEST_TMP/docker-config
mkdir -p "$cfg"
printf '%s\n' '{"auths":{"example.invalid":{"auth":"c2VjcmV0LXRva2VuLTEyMzQ="}}}' >"$cfg/config.json"
log=$TEST_TMP/log.jsonl
run_secret() { # ARGS...: dockform with DOCKER_CONFIG=$cfg; stderr appended to $TEST_TMP/secret.err
  local rc=0
  DOCKER_CONFIG=$cfg "$DOCKFORM" --log-level debug --log-file "$log" "$@" >>"$TEST_TMP/secret.out" 2>>"$TEST_TMP/secret.err" </dev/null || rc=$?
  echo "dockform $*: exit $rc"
  return 0
}
run_secret -c "$M" volume snapshot "$big" -o "$TEST_TMP/secret-snaps" --level 1
run_secret -c "$M" --helper-image example.invalid/helper:1 volume snapshot "$big" -o "$TEST_TMP/secret-snaps2"
[[ -s $log ]] || fail "the log file $log is empty"
assert_contains "$(cat "$log")" '"debug"' "the log file holds debug lines"
for f in "$TEST_TMP/secret.err" "$TEST_TMP/secret.out" "$log"; do
  for s in c2VjcmV0LXRva2VuLTEyMzQ secret-token; do
    if grep -q -- "$s" "$f"; then fail "$f holds the secret [$s]: $(grep -- "$s" "$f" | head -3)"; fi
  done
done

pass
