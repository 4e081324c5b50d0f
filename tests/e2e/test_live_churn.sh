#!/usr/bin/env bash
# Snapshots of a volume that a running container keeps changing (creating,
# deleting, truncating and appending files, making and removing folders),
# with the built-in helper image and with a busybox image named by
# --helper-image (the helper binary copied in), several runs each: every run
# exits 0 in one pass, every archive passes `zstd -t`, `tar -t`, `volume
# verify` and a restore. Paths that vanished, shrank or grew are warnings
# naming the path. Prints the warnings of each run.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vol=${PFX}churn
back=${PFX}back
churner=${PFX}churner
M=$TEST_TMP/manifest
RUNS=${DOCKFORM_TEST_CHURN_RUNS:-4}
write_manifest "$M" churntest "$vol" "$back"
engine volume create "$vol" >/dev/null
engine volume create "$back" >/dev/null

# Files big enough that tar is often in the middle of one when it changes.
vol_exec "$vol" sh -euc 'i=0; while [ $i -lt 60 ]; do head -c 262144 /dev/zero > /v/f$i; i=$((i+1)); done'
engine run -d --name "$churner" --network none --log-driver none -v "$vol:/data" "$DOCKFORM_TEST_BUSYBOX_IMAGE" sh -c '
  trap "exit 0" TERM
  i=0
  while :; do
    i=$((i+1)); n=$((i % 60))
    case $(((i + i / 60) % 4)) in # each file meets every kind of change in turn
      0) rm -f /data/f$n ;;
      1) head -c 262144 /dev/zero > /data/f$n ;;
      2) : > /data/f$n ;;
      3) head -c 4096 /dev/zero >> /data/f$n ;;
    esac
    if [ $((i % 25)) -eq 0 ]; then
      mkdir -p /data/d$((i % 5)) && echo x > /data/d$((i % 5))/x
      rm -rf /data/d$(((i + 2) % 5))
    fi
    usleep 2000 # at most a few hundred changes a second, however fast the machine
  done' >/dev/null

summary=""
for image in "" "$DOCKFORM_TEST_BUSYBOX_IMAGE"; do
  for ((run = 1; run <= RUNS; run++)); do
    what="${image:-built-in helper image} run $run"
    [[ $(engine inspect --format '{{.State.Running}}' "$churner") == true ]] || fail "the churning container stopped"
    run_df -c "$M" ${image:+--helper-image "$image"} volume snapshot "$vol" -o "$TEST_TMP/snaps" --json
    assert_eq 0 "$RC" "$what: snapshot of a changing volume"
    assert_not_contains "$ERR" "again" "$what: one pass, never started over"
    snap=$(json_field data_file)
    warnings=$(jq '.warnings | length' <<<"$OUT")
    # Every warning names a path and what happened to it.
    python3 -c '
import json, re, sys
for w in json.loads(sys.argv[1])["warnings"]:
    assert re.match(r"^\./\S+: (vanished while read|file shrank while read|file grew while read|replaced while read)", w), w
' "$OUT" || fail "$what: a warning that names no path or no known change: $OUT"
    count=$(json_field sidecar.file_count)
    if ((warnings > 10)); then
      assert_contains "$ERR" "more (all of them under \"warnings\" with --json)" "$what: stderr caps the list"
    fi
    zstd -q -t "$snap" || fail "$what: zstd -t rejects $snap"
    tar --zstd -tf "$snap" >/dev/null || fail "$what: tar -t rejects $snap"
    run_df volume verify "$snap"
    assert_eq 0 "$RC" "$what: verify"
    run_df -c "$M" volume restore "$back" "$snap" --force --json
    assert_eq 0 "$RC" "$what: restore"
    assert_eq "$count" "$(json_field file_count)" "$what: files restored"
    summary+="$(printf '%s run %d: warnings %d, files %d\n' "${image:-built-in}" "$run" "$warnings" "$count")"$'\n'
  done
done
printf '%s' "$summary"
pass
