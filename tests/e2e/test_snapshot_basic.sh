#!/usr/bin/env bash
# stages: sanitize podman
# transports: attach
# volume snapshot: file names, locations, modes, sidecar contents checked
# against independent computations (sha256sum, zstd, GNU tar, docker volume
# inspect), --note, -o, --json and --level.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need_tools python3 zstd tar sha256sum

STEM_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z__spec-[0-9a-f]{8}$'

# Independent spec hash: python3 speccheck.py < `docker volume inspect` output.
cat >"$TEST_TMP/spec_hash.py" <<'EOF'
import hashlib, json, sys

def spec_hash(driver, opts, labels):
    def seg(m):
        return ";".join(k + "=" + v for k, v in sorted((m or {}).items(), key=lambda kv: kv[0].encode()))
    text = "driver=%s|opts=%s|labels=%s" % (driver, seg(opts), seg(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:8]

if sys.argv[1:] == ["selftest"]:
    # The two examples of the snapshot format: they validate this implementation.
    assert spec_hash("local", {}, {"io.dockform.identifier": "myproject"}) == "5df65d76"
    assert spec_hash("local", {"type": "none", "o": "bind"}, {"b": "2", "a": "1"}) == "8f0c12d0"
    print("ok")
else:
    v = json.load(sys.stdin)[0]
    print(spec_hash(v["Driver"], v.get("Options"), v.get("Labels")))
EOF
assert_eq "ok" "$(python3 "$TEST_TMP/spec_hash.py" selftest)" "the test's own spec-hash implementation"

# check_sidecar SIDECAR VOLUME INSPECT_JSON EXPECTED_NOTE|-  : field order,
# types, and the values that come from docker volume inspect. Prints nothing
# on success, the problems otherwise.
cat >"$TEST_TMP/check_sidecar.py" <<'EOF'
import json, re, sys
path, volume, inspect_file, note = sys.argv[1:5]
text = open(path, encoding="utf-8").read()
problems = []
doc = json.loads(text, object_pairs_hook=lambda pairs: pairs)
keys = [k for k, _ in doc]
expected = ["dockform_version", "created_at", "volume_name", "spec_hash", "driver", "driver_opts",
            "labels", "uncompressed_bytes", "file_count", "checksum", "index_sha256"]
if note != "-":
    expected.append("notes")
if keys != expected:
    problems.append("keys %s, expected %s" % (keys, expected))
d = json.loads(text)
lines = text.split("\n")
if len(lines) < 2 or not lines[1].startswith('  "dockform_version": '):
    problems.append("not 2-space indented: second line %r" % (lines[1] if len(lines) > 1 else None))
def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0
for k in ("dockform_version", "created_at", "volume_name", "spec_hash", "driver"):
    if not isinstance(d.get(k), str) or not d.get(k):
        problems.append("%s is not a non-empty string: %r" % (k, d.get(k)))
for k in ("driver_opts", "labels"):
    if not isinstance(d.get(k), dict) or not all(isinstance(v, str) for v in d[k].values()):
        problems.append("%s is not an object of strings: %r" % (k, d.get(k)))
for k in ("uncompressed_bytes", "file_count"):
    if not is_int(d.get(k)):
        problems.append("%s is not a non-negative integer: %r" % (k, d.get(k)))
c = d.get("checksum")
if not isinstance(c, dict) or list(c.keys()) != ["algo", "tar_zst"] or c.get("algo") != "sha256" \
        or not re.fullmatch(r"[0-9a-f]{64}", str(c.get("tar_zst"))):
    problems.append("checksum is not {algo: sha256, tar_zst: <64 hex>}: %r" % (c,))
if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(d.get("created_at"))):
    problems.append("created_at is not UTC ISO-8601: %r" % d.get("created_at"))
if d.get("volume_name") != volume:
    problems.append("volume_name %r, expected %r" % (d.get("volume_name"), volume))
v = json.load(open(inspect_file))[0]
if d.get("driver") != v["Driver"]:
    problems.append("driver %r, docker says %r" % (d.get("driver"), v["Driver"]))
if d.get("driver_opts") != (v.get("Options") or {}):
    problems.append("driver_opts %r, docker says %r" % (d.get("driver_opts"), v.get("Options")))
if d.get("labels") != (v.get("Labels") or {}):
    problems.append("labels %r, docker says %r" % (d.get("labels"), v.get("Labels")))
if note != "-" and d.get("notes") != note:
    problems.append("notes %r, expected %r" % (d.get("notes"), note))
print("\n".join(problems))
EOF

# only_pair FOLDER: asserts FOLDER holds exactly one snapshot pair and nothing
# else (no temporaries, no dotfiles); prints the stem.
only_pair() {
  local folder=$1 entries stem
  entries=$(ls -A "$folder")
  [[ $(wc -l <<<"$entries") -eq 2 ]] || fail "$folder should hold exactly a .tar.zst and a .json, holds: [$entries]"
  stem=$(sed -n 's/\.tar\.zst$//p' <<<"$entries")
  [[ $stem =~ $STEM_RE ]] || fail "data file name in $folder does not match <UTC time>__spec-<8hex>.tar.zst: [$entries]"
  [[ $entries == "$stem.json"$'\n'"$stem.tar.zst" ]] || fail "sidecar with the same stem missing in $folder: [$entries]"
  echo "$stem"
}

# check_snapshot FOLDER STEM VOLUME INSPECT_FILE NOTE|- EXPECTED_FILE_COUNT: the
# full independent check of one snapshot pair.
check_snapshot() {
  local folder=$1 stem=$2 vol=$3 inspect=$4 note=$5 want_files=$6
  local data=$folder/$stem.tar.zst side=$folder/$stem.json problems
  assert_eq 600 "$(stat -c %a "$data")" "mode of $data"
  assert_eq 600 "$(stat -c %a "$side")" "mode of $side"
  problems=$(python3 "$TEST_TMP/check_sidecar.py" "$side" "$vol" "$inspect" "$note")
  [[ -z $problems ]] || fail "sidecar $side: $problems"$'\n'"$(cat "$side")"

  # spec hash: independent computation, and it is the one in the name
  local want_hash
  want_hash=$(python3 "$TEST_TMP/spec_hash.py" <"$inspect")
  assert_eq "$want_hash" "$(json_field spec_hash "$side")" "spec_hash in $side"
  assert_eq "__spec-$want_hash" "${stem#*Z}" "spec hash in the file name $stem"
  # created_at is the name's timestamp
  local ts=${stem%%__*}
  assert_eq "${ts:0:10}T${ts:11:2}:${ts:14:2}:${ts:17:2}Z" "$(json_field created_at "$side")" "created_at vs name"

  assert_eq "$(sha256sum <"$data" | cut -c1-64)" "$(json_field checksum.tar_zst "$side")" "checksum.tar_zst of $data"
  zstd -q -t "$data" || fail "zstd -t rejects $data"
  assert_eq "$(zstd -dc "$data" | wc -c)" "$(json_field uncompressed_bytes "$side")" "uncompressed_bytes of $data"
  local listing counted
  listing=$(zstd -dc "$data" | tar -tvf -) || fail "GNU tar cannot list $data"
  counted=$(grep -c '^[-h]' <<<"$listing" || true)
  assert_eq "$counted" "$(json_field file_count "$side")" "file_count vs tar -tv (regular files + hardlinks)"
  assert_eq "$want_files" "$counted" "regular files in the archive vs find -type f in the volume"
  local bad
  bad=$(zstd -dc "$data" | tar -tf - | grep -v '^\./' || true)
  [[ -z $bad ]] || fail "tar members not named ./...: [$bad]"
  if [[ $note == "-" ]]; then
    assert_eq "false" "$(jq 'has("notes")' "$side")" "notes present without --note"
  fi
}

# ---------------------------------------------------------------- fixture
proj=$TEST_TMP/proj
vol=${PFX}data
write_manifest "$proj" snapident "$vol"
engine volume create --label io.dockform.identifier=snapident --label zeta=last --label a.b=first "$vol" >/dev/null
vol_exec "$vol" sh -euc '
  cd /v
  mkdir -p sub/deeper empty
  echo nested > sub/nested.txt
  echo deep > sub/deeper/deep.txt
  echo dot > .hidden
  echo link > hard1 && ln hard1 hard2
  ln -s sub/nested.txt sym
  dd if=/dev/urandom of=rand.bin bs=64k count=20 2>/dev/null
  mkfifo pipe
'
want_files=$(vol_exec "$vol" sh -c 'find /v -type f | wc -l' | tr -d ' ')
assert_eq 6 "$want_files" "regular files in the fixture (find -type f)"
engine volume inspect "$vol" >"$TEST_TMP/inspect.json"

# ---------------------------------------------------------------- default location
before=$(date -u +%s)
run_df -c "$proj" volume snapshot "$vol"
after=$(date -u +%s)
assert_eq 0 "$RC" "volume snapshot $vol"
folder=$proj/.dockform/snapshots/$vol
[[ -d $folder ]] || fail "snapshot folder $folder was not created"
for d in "$proj/.dockform" "$proj/.dockform/snapshots" "$folder"; do
  assert_eq 700 "$(stat -c %a "$d")" "mode of folder $d created by dockform"
done
stem=$(only_pair "$folder") || exit 1
check_snapshot "$folder" "$stem" "$vol" "$TEST_TMP/inspect.json" - "$want_files"
created=$(date -u -d "$(json_field created_at "$folder/$stem.json")" +%s)
((created >= before - 1 && created <= after + 1)) ||
  fail "created_at $created is not the time of the run ($before..$after, UTC)"
assert_contains "$OUT" "$folder/$stem.tar.zst" "human output names the data file"
members=$(zstd -dc "$folder/$stem.tar.zst" | tar -tf - | sort)
for m in ./sub/nested.txt ./sub/deeper/deep.txt ./.hidden ./hard1 ./hard2 ./sym ./rand.bin ./pipe ./empty/; do
  grep -qxF -- "$m" <<<"$members" || fail "member $m missing from the archive: [$members]"
done
# nothing but the pair anywhere under .dockform
extra=$(find "$proj/.dockform" -mindepth 1 -not -path "$folder" -not -path "$folder/$stem.*" -not -path "$proj/.dockform/snapshots")
[[ -z $extra ]] || fail "unexpected entries under .dockform: [$extra]"

# ---------------------------------------------------------------- driver options in the spec hash
optvol=${PFX}opts
# nr_blocks (4 KiB pages), not size=: Podman 4.3 takes size= for a quota and refuses it.
engine volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=nr_blocks=4096,mode=0755 \
  --label b=2 --label a=1 "$optvol" >/dev/null
# (a tmpfs volume is empty again whenever no container mounts it)
engine volume inspect "$optvol" >"$TEST_TMP/inspect_opts.json"
run_df -c "$proj" volume snapshot "$optvol"
assert_eq 0 "$RC" "volume snapshot of a volume with driver options"
ostem=$(only_pair "$proj/.dockform/snapshots/$optvol") || exit 1
check_snapshot "$proj/.dockform/snapshots/$optvol" "$ostem" "$optvol" "$TEST_TMP/inspect_opts.json" - 0
assert_eq '{"device": "tmpfs", "o": "nr_blocks=4096,mode=0755", "type": "tmpfs"}' \
  "$(json_field driver_opts "$proj/.dockform/snapshots/$optvol/$ostem.json")" "driver_opts of $optvol"

# ---------------------------------------------------------------- -o, --note, --json
out=$TEST_TMP/out/nested
note='Before upgrade to v2.0 — "quoted" ✓'
run_df -c "$proj" volume snapshot "$vol" -o "$out" --note "$note" --json
assert_eq 0 "$RC" "volume snapshot -o --note --json"
for d in "$TEST_TMP/out" "$out" "$out/$vol"; do
  assert_eq 700 "$(stat -c %a "$d")" "mode of folder $d created by dockform"
done
jstem=$(only_pair "$out/$vol") || exit 1
check_snapshot "$out/$vol" "$jstem" "$vol" "$TEST_TMP/inspect.json" "$note" "$want_files"
# the default location got nothing new
[[ $(only_pair "$folder") == "$stem" ]] || fail "-o run also wrote into the default folder"
printf '%s' "$OUT" >"$TEST_TMP/result.json"
python3 - "$TEST_TMP/result.json" "$out/$vol/$jstem" <<'EOF' || fail "--json output: see above; stdout was: $OUT"
import json, os, sys
text = open(sys.argv[1], encoding="utf-8").read()
try:
    doc = json.loads(text)  # exactly one document, nothing else on stdout
except ValueError as e:
    sys.exit("stdout is not exactly one JSON document: %s" % e)
if not isinstance(doc, dict):
    sys.exit("stdout is not a JSON object")
stem = sys.argv[2]
for key, want in (("data_file", stem + ".tar.zst"), ("sidecar_file", stem + ".json")):
    if key not in doc or not os.path.isfile(doc[key]):
        sys.exit("%s %r does not exist" % (key, doc.get(key)))
    if os.path.realpath(doc[key]) != os.path.realpath(want):
        sys.exit("%s is %r, expected %r" % (key, doc[key], want))
side = json.load(open(stem + ".json", encoding="utf-8"))
if doc.get("sidecar") != side:
    sys.exit("sidecar in --json output %r differs from the file %r" % (doc.get("sidecar"), side))
if doc.get("volume") != side["volume_name"]:
    sys.exit("volume %r" % doc.get("volume"))
if doc.get("compressed_bytes") != os.path.getsize(stem + ".tar.zst"):
    sys.exit("compressed_bytes %r, file has %d" % (doc.get("compressed_bytes"), os.path.getsize(stem + ".tar.zst")))
EOF

# ---------------------------------------------------------------- --level
lvl=$TEST_TMP/lvl
run_df -c "$proj" volume snapshot "$vol" -o "$lvl" --level 19
assert_eq 0 "$RC" "volume snapshot --level 19"
lstem=$(only_pair "$lvl/$vol") || exit 1
check_snapshot "$lvl/$vol" "$lstem" "$vol" "$TEST_TMP/inspect.json" - "$want_files"
# the same tar stream whatever the level
assert_eq "$(zstd -dc "$folder/$stem.tar.zst" | sha256sum)" "$(zstd -dc "$lvl/$vol/$lstem.tar.zst" | sha256sum)" \
  "tar stream at level 3 vs level 19"

bad=$TEST_TMP/badlevel
for level in 25 0; do
  run_df -c "$proj" volume snapshot "$vol" -o "$bad" --level "$level"
  assert_eq 2 "$RC" "volume snapshot --level $level is a usage error"
  assert_no_file "$bad/$vol" "--level $level wrote a folder"
done
[[ $(only_pair "$folder") == "$stem" ]] || fail "a refused run changed the default folder"

pass
