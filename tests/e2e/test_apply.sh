#!/usr/bin/env bash
# stages: sanitize podman
# plan / apply / validate / version against a real engine: volumes and a bridge
# network are created with the identifier label, a second apply changes nothing,
# a foreign volume is left alone, the endpoint comes from DOCKER_HOST or from a
# named context in the Docker CLI's context store, and ${VAR:-default} works.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

ident="${PFX}id"
va="${PFX}data"
vb="${PFX}cache"
net="${PFX}net"
dir=$TEST_TMP/proj
mkdir -p "$dir"
cat >"$dir/dockform.yml" <<EOF
docker:
  identifier: ${ident}
volumes:
  ${va}: {}
  ${vb}: {}
networks:
  ${net}: {driver: bridge}
EOF

label_of() { # volume|network NAME -> value of io.dockform.identifier ("<none>" when absent)
  engine "$1" inspect "$2" --format '{{with index .Labels "io.dockform.identifier"}}{{.}}{{else}}<none>{{end}}'
}

# --- validate names the manifest, and the engine it reached
run_df -c "$dir" validate
assert_eq 0 "$RC" "validate exit code"
assert_contains "$OUT" "$dir/dockform.yml" "validate names the manifest"
assert_contains "$OUT" "identifier $ident" "validate names the identifier"
assert_contains "$OUT" "2 volumes, 1 networks" "validate counts the declarations"
assert_contains "$OUT" "$DOCKER_HOST" "validate names the engine endpoint"

# --- version: dockform's version and the engine's
engine_version=$(engine version --format '{{.Server.Version}}')
run_df -c "$dir" version
assert_eq 0 "$RC" "version exit code"
[[ $OUT =~ dockform\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "version does not print a dockform version: $OUT"
assert_contains "$OUT" "engine $engine_version" "version prints the engine version"
case ${DOCKFORM_TEST_ENGINE:-docker} in
  podman) product="Podman Engine" ;;
  *) product="Docker Engine" ;;
esac
assert_contains "$OUT" "engine $engine_version ($product, API " "version names the engine product"

# --- plan lists what apply will create, and creates nothing
run_df -c "$dir" plan
assert_eq 0 "$RC" "plan exit code"
assert_contains "$OUT" "+ create volume $va" "plan lists volume $va"
assert_contains "$OUT" "+ create volume $vb" "plan lists volume $vb"
assert_contains "$OUT" "+ create network $net" "plan lists network $net"
assert_contains "$OUT" "3 to create" "plan counts the creations"
! engine volume inspect "$va" >/dev/null 2>&1 || fail "plan created volume $va"
! engine network inspect "$net" >/dev/null 2>&1 || fail "plan created network $net"

# --- apply creates them, labelled (bridge networks work on this --bridge=none engine)
run_df -c "$dir" apply
assert_eq 0 "$RC" "apply exit code"
assert_contains "$OUT" "+ create volume $va" "apply lists volume $va"
assert_contains "$OUT" "+ create network $net" "apply lists network $net"
assert_contains "$OUT" "applied" "apply reports it applied"
for v in "$va" "$vb"; do
  engine volume inspect "$v" >/dev/null 2>&1 || fail "apply did not create volume $v"
  assert_eq "$ident" "$(label_of volume "$v")" "identifier label on volume $v"
  assert_eq "local" "$(engine volume inspect "$v" --format '{{.Driver}}')" "driver of volume $v"
done
engine network inspect "$net" >/dev/null 2>&1 || fail "apply did not create network $net"
assert_eq "$ident" "$(label_of network "$net")" "identifier label on network $net"
assert_eq "bridge" "$(engine network inspect "$net" --format '{{.Driver}}')" "driver of network $net"

# --- a second apply has nothing to do and touches nothing
created_a=$(engine volume inspect "$va" --format '{{.CreatedAt}}')
created_b=$(engine volume inspect "$vb" --format '{{.CreatedAt}}')
net_id=$(engine network inspect "$net" --format '{{.Id}}')
run_df -c "$dir" plan
assert_eq 0 "$RC" "second plan exit code"
assert_contains "$OUT" "nothing to do" "plan after apply"
assert_not_contains "$OUT" "+ create" "plan after apply"
run_df -c "$dir" apply
assert_eq 0 "$RC" "second apply exit code"
assert_contains "$OUT" "nothing to do" "second apply"
assert_not_contains "$OUT" "+ create" "second apply"
assert_not_contains "$OUT" "applied" "second apply"
assert_contains "$OUT" "volume $va exists" "second apply names the existing volume"
assert_eq "$created_a" "$(engine volume inspect "$va" --format '{{.CreatedAt}}')" "CreatedAt of $va after a second apply"
assert_eq "$created_b" "$(engine volume inspect "$vb" --format '{{.CreatedAt}}')" "CreatedAt of $vb after a second apply"
assert_eq "$net_id" "$(engine network inspect "$net" --format '{{.Id}}')" "network id after a second apply"
assert_eq 1 "$(engine network ls -q --filter "name=^${net}\$" | wc -l)" "number of networks named $net"

# --- a volume that exists without the label is reported and left alone
foreign="${PFX}foreign"
engine volume create --label owner=someone-else "$foreign" >/dev/null
vol_exec "$foreign" sh -c 'echo keep-me >/v/file'
# (captured after the write: this engine derives CreatedAt from the folder's mtime)
foreign_labels=$(engine volume inspect "$foreign" --format '{{json .Labels}}')
foreign_created=$(engine volume inspect "$foreign" --format '{{.CreatedAt}}')
sed -i "s/^  ${vb}: {}\$/  ${vb}: {}\n  ${foreign}: {}/" "$dir/dockform.yml"
grep -q "^  ${foreign}: {}" "$dir/dockform.yml" || fail "could not add $foreign to the manifest"
run_df -c "$dir" plan
assert_eq 0 "$RC" "plan with a foreign volume"
assert_contains "$OUT" "volume $foreign exists without label io.dockform.identifier" "plan reports the foreign volume"
assert_not_contains "$OUT" "+ create volume $foreign" "plan must not create the foreign volume"
assert_contains "$OUT" "nothing to do" "plan with only a foreign volume new"
run_df -c "$dir" apply
assert_eq 0 "$RC" "apply with a foreign volume"
assert_contains "$OUT$ERR" "without label" "apply reports the foreign volume"
assert_eq "$foreign_labels" "$(engine volume inspect "$foreign" --format '{{json .Labels}}')" "labels of the foreign volume"
assert_eq "$foreign_created" "$(engine volume inspect "$foreign" --format '{{.CreatedAt}}')" "CreatedAt of the foreign volume"
assert_eq "keep-me" "$(vol_exec "$foreign" cat /v/file)" "content of the foreign volume"

# --- unreachable endpoint: exit 4, and the message names the socket URL
run_df_env() { # VAR=VALUE... -- ARGS...: run_df with a changed environment
  local -a envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  local o=$TEST_TMP/.out e=$TEST_TMP/.err
  echo "+ ${envs[*]} dockform $*" >&2
  RC=0
  env "${envs[@]}" "$DOCKFORM" "$@" >"$o" 2>"$e" </dev/null || RC=$?
  OUT=$(<"$o")
  ERR=$(<"$e")
}
run_df_env "DOCKER_HOST=unix://$TEST_TMP/nothing.sock" -- -c "$dir" validate
assert_eq 4 "$RC" "validate with an unreachable engine"
assert_contains "$ERR" "unix://$TEST_TMP/nothing.sock" "the error names the endpoint"

# --- a named context from the Docker CLI's context store
ctx="${PFX}ctx"
ctx_hash=$(printf '%s' "$ctx" | sha256sum | cut -c1-64)
mkdir -p "$TEST_TMP/dockercfg/contexts/meta/$ctx_hash"
printf '{"Name":"%s","Metadata":{},"Endpoints":{"docker":{"Host":"%s","SkipTLSVerify":false}}}\n' \
  "$ctx" "$DOCKER_HOST" >"$TEST_TMP/dockercfg/contexts/meta/$ctx_hash/meta.json"
ctxdir=$TEST_TMP/ctxproj
mkdir -p "$ctxdir"
printf 'docker:\n  context: %s\n  identifier: %s\nvolumes:\n  %s: {}\n' "$ctx" "$ident" "$va" >"$ctxdir/dockform.yml"
run_df_env -u DOCKER_HOST "DOCKER_CONFIG=$TEST_TMP/dockercfg" -- -c "$ctxdir" validate
assert_eq 0 "$RC" "validate through context $ctx"
assert_contains "$OUT" "engine at $DOCKER_HOST answers" "validate reached the context's endpoint"
run_df_env -u DOCKER_HOST "DOCKER_CONFIG=$TEST_TMP/dockercfg" -- -c "$ctxdir" plan
assert_eq 0 "$RC" "plan through context $ctx"
assert_contains "$OUT" "volume $va exists" "plan through the context sees the engine's volumes"
# A context that is not in the store: the engine cannot be reached.
printf 'docker:\n  context: %s\n  identifier: %s\n' "${PFX}nosuchctx" "$ident" >"$ctxdir/dockform.yml"
run_df_env -u DOCKER_HOST "DOCKER_CONFIG=$TEST_TMP/dockercfg" -- -c "$ctxdir" validate
assert_eq 4 "$RC" "validate with an unknown context"
assert_contains "$ERR" "${PFX}nosuchctx" "the error names the unknown context"

# --- interpolation: ${VAR:-default} in a volume name (a fileset's target_volume,
# which counts as a declared volume; YAML keys are not interpolated, as in Compose)
idir=$TEST_TMP/interp
mkdir -p "$idir"
cat >"$idir/dockform.yml" <<EOF
docker:
  identifier: \${DF_E2E_IDENT:-${ident}}
filesets:
  assets:
    source: ./assets
    target_volume: \${DF_E2E_VOLUME:-${PFX}interp_default}
    target_path: /srv
EOF
run_df_env -u DF_E2E_VOLUME -u DF_E2E_IDENT -- -c "$idir" apply
assert_eq 0 "$RC" "apply with interpolation defaults"
assert_contains "$OUT" "+ create volume ${PFX}interp_default" "apply names the default volume"
engine volume inspect "${PFX}interp_default" >/dev/null 2>&1 || fail "volume ${PFX}interp_default was not created"
assert_eq "$ident" "$(label_of volume "${PFX}interp_default")" "label of the interpolated volume"
run_df_env "DF_E2E_VOLUME=${PFX}interp_env" "DF_E2E_IDENT=${PFX}other" -- -c "$idir" apply
assert_eq 0 "$RC" "apply with interpolation from the environment"
engine volume inspect "${PFX}interp_env" >/dev/null 2>&1 || fail "volume ${PFX}interp_env was not created"
assert_eq "${PFX}other" "$(label_of volume "${PFX}interp_env")" "label of the volume named from the environment"
engine volume inspect "${PFX}interp_default" --format '{{.Name}}' >/dev/null || fail "default volume vanished"

# --- version without any manifest: the endpoint is the default one (DOCKER_HOST),
# as for the docker CLI; the version of the engine is still printed.
mkdir -p "$TEST_TMP/no-manifest"
cd "$TEST_TMP/no-manifest"
run_df version
cd - >/dev/null
assert_eq 0 "$RC" "version without a manifest: exit code"
[[ $OUT =~ dockform\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "version without a manifest: no dockform version: $OUT"
assert_contains "$OUT" "engine $engine_version" "version without a manifest prints the engine version (DOCKER_HOST)"

pass
