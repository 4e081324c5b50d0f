#!/usr/bin/env bash
# stages: sanitize
# volume prune with snapshots at chosen times (files written directly, from one
# real snapshot): keep-last, dry run, daily/weekly/monthly, the newest is always
# kept, temporaries and orphan sidecars are left alone, --json.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# --- one real snapshot to copy from
vol="${PFX}data"
proj=$TEST_TMP/proj
write_manifest "$proj" "${PFX}id" "$vol"
run_df -c "$proj" apply
assert_eq 0 "$RC" "apply"
vol_exec "$vol" sh -c 'echo hello >/v/hello.txt; mkdir /v/d; echo x >/v/d/x'
run_df -c "$proj" volume snapshot "$vol" -o "$TEST_TMP/real"
assert_eq 0 "$RC" "snapshot"
real_data=$(ls "$TEST_TMP/real/$vol/"*.tar.zst)
real_sidecar=${real_data%.tar.zst}.json
assert_file_exists "$real_sidecar" "sidecar of the real snapshot"

# make_snap BASE VOLUME ISO-TIME: BASE/VOLUME/<time>__spec-abcdef12.{tar.zst,json}
# with created_at = ISO-TIME; prints the stem.
make_snap() {
  local base=$1 volume=$2 when=$3 stem
  stem="${when//:/-}__spec-abcdef12"
  mkdir -p "$base/$volume"
  cp "$real_data" "$base/$volume/$stem.tar.zst"
  python3 - "$real_sidecar" "$base/$volume/$stem.json" "$when" "$volume" <<'EOF'
import json, sys
src, dst, when, volume = sys.argv[1:]
d = json.load(open(src))
d["created_at"] = when
d["volume_name"] = volume
d["spec_hash"] = "abcdef12"
json.dump(d, open(dst, "w"), indent=2)
EOF
  echo "$stem"
}
# present BASE VOLUME: the stems with both files present, sorted; fails on a half pair.
present() {
  local f stem
  for f in "$1/$2"/*.tar.zst; do
    [[ -e $f ]] || continue
    stem=$(basename "$f" .tar.zst)
    [[ -f $1/$2/$stem.json ]] || fail "data file $f is left without its sidecar"
    echo "$stem"
  done | sort
  for f in "$1/$2"/*.json; do
    [[ -e $f ]] || continue
    stem=$(basename "$f" .json)
    [[ -f $1/$2/$stem.tar.zst || $stem == orphan* ]] || fail "sidecar $f is left without its data file"
  done
}
sorted() { printf '%s\n' "$@" | sort; }
# prune BASE VOLUME ARGS...: dockform volume prune, like run_df but with no
# engine and no manifest (prune needs neither).
prune() {
  local base=$1 volume=$2 o=$TEST_TMP/.out e=$TEST_TMP/.err
  shift 2
  echo "+ dockform volume prune $volume -o $base $*" >&2
  RC=0
  (cd "$TEST_TMP" && DOCKER_HOST=unix:///nonexistent.sock "$DOCKFORM" volume prune "$volume" -o "$base" "$@" \
    >"$o" 2>"$e" </dev/null) || RC=$?
  OUT=$(<"$o")
  ERR=$(<"$e")
}

# --- keep-last 2 of 5: the 3 oldest go, data and sidecar both
b=$TEST_TMP/last
v=${PFX}last
s=()
for t in 2024-01-01T10:00:00Z 2024-01-02T10:00:00Z 2024-01-03T10:00:00Z 2024-01-04T10:00:00Z 2024-01-05T10:00:00Z; do
  s+=("$(make_snap "$b" "$v" "$t")")
done
# a temporary of a snapshot being written, and an orphan sidecar
printf 'partial' >"$b/$v/.dockform-tmp-abc"
cp "$b/$v/${s[0]}.json" "$b/$v/orphan-2023-01-01T00-00-00Z__spec-abcdef12.json"

# dry run first: nothing is removed
prune "$b" "$v" --keep-last 2 --dry-run
assert_eq 0 "$RC" "dry run exit code"
assert_eq 3 "$(grep -c '^would remove ' <<<"$OUT")" "dry run lists 3 'would remove' lines [$OUT]"
for i in 0 1 2; do
  grep -q "^would remove ${s[$i]}.tar.zst" <<<"$OUT" || fail "dry run does not list ${s[$i]}: $OUT"
done
assert_eq "$(sorted "${s[@]}")" "$(present "$b" "$v")" "dry run removed something"
assert_file_exists "$b/$v/.dockform-tmp-abc" "dry run: temporary file"

prune "$b" "$v" --keep-last 2
assert_eq 0 "$RC" "keep-last 2 exit code"
assert_eq "$(sorted "${s[3]}" "${s[4]}")" "$(present "$b" "$v")" "keep-last 2 keeps the 2 newest"
for i in 0 1 2; do
  assert_no_file "$b/$v/${s[$i]}.tar.zst" "keep-last 2: old data file"
  assert_no_file "$b/$v/${s[$i]}.json" "keep-last 2: old sidecar"
  grep -q "^remove ${s[$i]}.tar.zst" <<<"$OUT" || fail "keep-last 2 does not report removing ${s[$i]}: $OUT"
done
assert_contains "$OUT" "2 kept, 3 removed" "keep-last 2 summary"
assert_file_exists "$b/$v/.dockform-tmp-abc" "temporary file after prune"
assert_eq "partial" "$(<"$b/$v/.dockform-tmp-abc")" "temporary file content"
assert_file_exists "$b/$v/orphan-2023-01-01T00-00-00Z__spec-abcdef12.json" "orphan sidecar after prune"
grep -q "^ignore orphan-2023-01-01T00-00-00Z__spec-abcdef12.json" <<<"$OUT" ||
  fail "the orphan sidecar is not reported as ignored: $OUT"
cmp -s "$real_data" "$b/$v/${s[4]}.tar.zst" || fail "kept data file changed"

# --- --keep-last 0 still keeps the newest
prune "$b" "$v" --keep-last 0
assert_eq 0 "$RC" "keep-last 0 exit code"
assert_eq "${s[4]}" "$(present "$b" "$v")" "keep-last 0 keeps only the newest"
grep -q "^keep   ${s[4]}.tar.zst (newest)" <<<"$OUT" || fail "keep-last 0 does not say it keeps the newest: $OUT"
assert_file_exists "$b/$v/.dockform-tmp-abc" "temporary file after keep-last 0"
assert_file_exists "$b/$v/orphan-2023-01-01T00-00-00Z__spec-abcdef12.json" "orphan sidecar after keep-last 0"
# and again with nothing left to remove
prune "$b" "$v" --keep-last 0
assert_eq 0 "$RC" "keep-last 0 with one snapshot"
assert_eq "${s[4]}" "$(present "$b" "$v")" "keep-last 0 with one snapshot"

# --- daily: 3 days, 2 a day; keep-last 1 + keep-daily 3 keeps each day's newest
b=$TEST_TMP/daily
v=${PFX}daily
d1a=$(make_snap "$b" "$v" 2024-02-01T08:00:00Z)
d1b=$(make_snap "$b" "$v" 2024-02-01T20:00:00Z)
d2a=$(make_snap "$b" "$v" 2024-02-02T00:00:01Z)
d2b=$(make_snap "$b" "$v" 2024-02-02T23:59:59Z)
d3a=$(make_snap "$b" "$v" 2024-02-04T09:00:00Z)
d3b=$(make_snap "$b" "$v" 2024-02-04T09:30:00Z)
prune "$b" "$v" --keep-last 1 --keep-daily 3 --json
assert_eq 0 "$RC" "daily exit code"
assert_eq "$(sorted "$d1b" "$d2b" "$d3b")" "$(present "$b" "$v")" "daily keeps the newest of each day"
printf '%s' "$OUT" >"$TEST_TMP/out.json"
python3 - "$TEST_TMP/out.json" "$b/$v" "$d1b" "$d2b" "$d3b" "$d1a" "$d2a" "$d3a" <<'EOF' || fail "daily --json: $OUT"
import json, sys
path, folder, k1, k2, k3, r1, r2, r3 = sys.argv[1:]
doc = json.load(open(path))
assert doc["dry_run"] is False, doc
(vol,) = doc["volumes"]
name = lambda e: e["data_file"].rsplit("/", 1)[1][: -len(".tar.zst")]
kept = [name(e) for e in vol["kept"]]
removed = sorted(name(e) for e in vol["removed"])
assert kept == [k3, k2, k1], kept  # newest first
assert removed == sorted([r1, r2, r3]), removed
assert vol["ignored"] == [], vol["ignored"]
reasons = {name(e): e["reasons"] for e in vol["kept"]}
assert "last" in reasons[k3] and "daily 2024-02-04" in reasons[k3], reasons
assert reasons[k2] == ["daily 2024-02-02"], reasons
assert reasons[k1] == ["daily 2024-02-01"], reasons
for e in vol["kept"] + vol["removed"]:
    assert e["data_file"].startswith(folder + "/"), e
    assert e["sidecar_file"] == e["data_file"][: -len(".tar.zst")] + ".json", e
assert vol["kept"][0]["created_at"] == "2024-02-04T09:30:00Z", vol["kept"][0]
EOF

# --- --json with a dry run, an orphan sidecar and a temporary
b=$TEST_TMP/json
v=${PFX}json
j1=$(make_snap "$b" "$v" 2024-03-01T00:00:00Z)
j2=$(make_snap "$b" "$v" 2024-03-02T00:00:00Z)
cp "$b/$v/$j1.json" "$b/$v/orphan-2024-03-03T00-00-00Z__spec-abcdef12.json"
printf 'x' >"$b/$v/.dockform-tmp-abc"
prune "$b" "$v" --keep-last 1 --dry-run --json
assert_eq 0 "$RC" "dry run --json exit code"
printf '%s' "$OUT" >"$TEST_TMP/out.json"
python3 - "$TEST_TMP/out.json" "$b/$v" "$j1" "$j2" <<'EOF' || fail "dry run --json: $OUT"
import json, sys
path, folder, old, new = sys.argv[1:]
doc = json.load(open(path))
assert doc["dry_run"] is True, doc
(vol,) = doc["volumes"]
assert [e["data_file"] for e in vol["kept"]] == [f"{folder}/{new}.tar.zst"], vol
assert [e["data_file"] for e in vol["removed"]] == [f"{folder}/{old}.tar.zst"], vol
(ign,) = vol["ignored"]
assert ign["file"] == f"{folder}/orphan-2024-03-03T00-00-00Z__spec-abcdef12.json", ign
assert ign["problem"], ign
assert not any(".dockform-tmp" in json.dumps(e) for e in vol["kept"] + vol["removed"] + vol["ignored"])
EOF
assert_eq "$(sorted "$j1" "$j2")" "$(present "$b" "$v")" "dry run --json removed something"
prune "$b" "$v" --keep-last 1 --json
assert_eq 0 "$RC" "--json exit code"
assert_eq "$j2" "$(present "$b" "$v")" "--json prune keeps the newest"
assert_file_exists "$b/$v/orphan-2024-03-03T00-00-00Z__spec-abcdef12.json" "orphan sidecar after --json prune"
assert_file_exists "$b/$v/.dockform-tmp-abc" "temporary after --json prune"

# --- monthly: the newest of each of the 2 newest months with snapshots
b=$TEST_TMP/monthly
v=${PFX}monthly
m1=$(make_snap "$b" "$v" 2023-11-15T12:00:00Z)
m2a=$(make_snap "$b" "$v" 2023-12-01T00:00:00Z)
m2b=$(make_snap "$b" "$v" 2023-12-31T23:59:59Z)
m3a=$(make_snap "$b" "$v" 2024-02-03T00:00:00Z) # January has none
m3b=$(make_snap "$b" "$v" 2024-02-10T00:00:00Z)
m3c=$(make_snap "$b" "$v" 2024-02-20T00:00:00Z)
prune "$b" "$v" --keep-last 0 --keep-monthly 2
assert_eq 0 "$RC" "monthly exit code"
assert_eq "$(sorted "$m2b" "$m3c")" "$(present "$b" "$v")" "keep-monthly 2"
assert_eq 4 "$(grep -c '^remove ' <<<"$OUT")" "monthly: removed count [$OUT]"
: "$m1 $m2a $m3a $m3b"

# --- weekly (ISO weeks): 2024-01-01 is a Monday
b=$TEST_TMP/weekly
v=${PFX}weekly
w1=$(make_snap "$b" "$v" 2024-01-02T00:00:00Z)  # W01
w2a=$(make_snap "$b" "$v" 2024-01-08T00:00:00Z) # W02, Monday
w2b=$(make_snap "$b" "$v" 2024-01-14T23:00:00Z) # W02, Sunday
w3a=$(make_snap "$b" "$v" 2024-01-15T00:00:00Z) # W03, Monday
w3b=$(make_snap "$b" "$v" 2024-01-16T00:00:00Z) # W03
prune "$b" "$v" --keep-last 1 --keep-weekly 3
assert_eq 0 "$RC" "weekly exit code"
assert_eq "$(sorted "$w1" "$w2b" "$w3b")" "$(present "$b" "$v")" "keep-weekly 3"
: "$w2a $w3a"

# --- mixed: keep-last 2 + keep-monthly 3 over a year's snapshots
b=$TEST_TMP/mixed
v=${PFX}mixed
x=()
for t in 2023-05-10T00:00:00Z 2023-06-10T00:00:00Z 2023-06-20T00:00:00Z 2023-07-01T00:00:00Z \
  2023-07-15T00:00:00Z 2023-07-16T00:00:00Z; do
  x+=("$(make_snap "$b" "$v" "$t")")
done
prune "$b" "$v" --keep-last 2 --keep-monthly 3
assert_eq 0 "$RC" "mixed exit code"
# last: 07-16, 07-15; monthly: 2023-07 (07-16), 2023-06 (06-20), 2023-05 (05-10)
assert_eq "$(sorted "${x[5]}" "${x[4]}" "${x[2]}" "${x[0]}")" "$(present "$b" "$v")" "keep-last 2 + keep-monthly 3"

# --- usage errors
prune "$b" "$v"
assert_eq 2 "$RC" "prune without --keep-last"
prune "$b" "$v" --keep-last -1
assert_eq 2 "$RC" "prune with a negative --keep-last"
assert_eq "$(sorted "${x[5]}" "${x[4]}" "${x[2]}" "${x[0]}")" "$(present "$b" "$v")" "usage errors remove nothing"

pass
