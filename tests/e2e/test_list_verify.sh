#!/usr/bin/env bash
# stages: sanitize
# volume list: every entry newest first, damaged ones (data without sidecar,
# sidecar without data, unreadable sidecar) flagged, in text and JSON.
# volume verify: good snapshots pass; bit flips, truncation and unsafe members
# fail with exit 3; a plain .tar passes without a sidecar; no engine needed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

vol="${PFX}data"
proj=$TEST_TMP/proj
snaps=$TEST_TMP/snaps
write_manifest "$proj" "${PFX}id" "$vol"
run_df -c "$proj" apply
assert_eq 0 "$RC" "apply"
vol_exec "$vol" sh -euc '
  mkdir -p /v/dir/sub
  echo hello >/v/hello.txt
  echo nested >/v/dir/sub/nested.txt
  dd if=/dev/urandom of=/v/dir/random.bin bs=64k count=4 2>/dev/null
  ln -s hello.txt /v/link
'

# --- three good snapshots
for i in 1 2 3; do
  run_df -c "$proj" volume snapshot "$vol" -o "$snaps" --note "good $i"
  assert_eq 0 "$RC" "snapshot $i"
done
folder=$snaps/$vol
mapfile -t good < <(cd "$folder" && printf "%s\n" *.tar.zst | sort)
assert_eq 3 "${#good[@]}" "number of snapshots written"
stem0=${good[0]%.tar.zst}

# --- damaged entries
# data file without sidecar (the oldest entry)
orphan_data=2000-01-01T00-00-00Z__spec-0badda7a
cp "$folder/${good[0]}" "$folder/$orphan_data.tar.zst"
# sidecar without data: a copy of a good sidecar under a new stem
orphan_sidecar=2001-01-01T00-00-00Z__spec-0badda7b
cp "$folder/$stem0.json" "$folder/$orphan_sidecar.json"
# unreadable sidecar next to a copied data file (the newest entry)
bad_json=2099-01-01T00-00-00Z__spec-0badda7c
cp "$folder/${good[0]}" "$folder/$bad_json.tar.zst"
printf '{"created_at": "2099-01-01T00:00:00Z", ' >"$folder/$bad_json.json"

# --- volume list, text
run_df -c "$proj" volume list "$vol" -o "$snaps"
assert_eq 0 "$RC" "list exit code"
mapfile -t rows < <(printf '%s\n' "$OUT" | tail -n +2)
assert_eq 6 "${#rows[@]}" "list rows (3 good + 3 damaged) [$OUT]"
assert_eq 3 "$(grep -c 'DAMAGED' <<<"$OUT")" "DAMAGED rows"
assert_contains "${rows[0]}" "DAMAGED" "first row (unreadable sidecar, 2099)"
assert_contains "${rows[0]}" "$bad_json" "first row names the 2099 entry"
assert_contains "${rows[0]}" "sidecar" "first row says what is wrong"
assert_contains "${rows[5]}" "DAMAGED" "last row (data without sidecar, 2000)"
assert_contains "${rows[5]}" "$orphan_data.tar.zst" "last row names the orphan data file"
assert_contains "${rows[5]}" "without sidecar" "last row says what is wrong"
grep -q "DAMAGED.*sidecar without data.*$orphan_sidecar.json" <<<"$OUT" ||
  fail "the orphan sidecar is not listed as damaged: $OUT"
for i in 1 2 3; do
  grep -F "good $i" <<<"$OUT" | grep -q -v DAMAGED || fail "good snapshot $i missing from the list: $OUT"
done
# newest first: rows 2..4 are the good snapshots in reverse order
for i in 0 1 2; do
  assert_contains "${rows[$((i + 1))]}" "${good[$((2 - i))]}" "row $((i + 2)) is good snapshot $((3 - i))"
done
# the CREATED column never increases
created_col=$(printf '%s\n' "${rows[@]}" | awk '{print $2}')
assert_eq "$(sort -r <<<"$created_col")" "$created_col" "CREATED column is newest first"

# --- volume list --json
run_df -c "$proj" volume list "$vol" -o "$snaps" --json
assert_eq 0 "$RC" "list --json exit code"
printf '%s' "$OUT" >"$TEST_TMP/list.json"
python3 - "$TEST_TMP/list.json" "$snaps" "$folder" "$orphan_data" "$orphan_sidecar" "$bad_json" "${good[@]}" <<'EOF' || fail "list --json: $OUT"
import json, sys
path, snaps, folder, orphan_data, orphan_sidecar, bad_json, *good = sys.argv[1:]
doc = json.load(open(path))
assert doc["snapshot_dir"] == snaps, doc["snapshot_dir"]
entries = doc["snapshots"]
assert len(entries) == 6, len(entries)
created = [e["created_at"] for e in entries]
assert created == sorted(created, reverse=True), created
damaged = {}
for e in entries:
    if e["problem"] is None:
        assert e["spec_matches"] == "yes", e
        assert e["data_file"].startswith(folder + "/") and e["data_file"].endswith(".tar.zst"), e
        assert e["sidecar_file"] == e["data_file"][: -len(".tar.zst")] + ".json", e
        assert e["file_count"] == 3 and e["uncompressed_bytes"] > 256 * 1024, e
        assert e["notes"].startswith("good "), e
    else:
        assert isinstance(e["problem"], str) and e["problem"], e
        stem = (e["data_file"] or e["sidecar_file"]).rsplit("/", 1)[1].split(".")[0]
        damaged[stem] = e
good_files = sorted(e["data_file"].rsplit("/", 1)[1] for e in entries if e["problem"] is None)
assert good_files == sorted(good), (good_files, good)
assert sorted(damaged) == sorted([orphan_data, orphan_sidecar, bad_json]), sorted(damaged)
assert damaged[orphan_data]["sidecar_file"] is None and "sidecar" in damaged[orphan_data]["problem"]
assert damaged[orphan_sidecar]["data_file"] is None and "data" in damaged[orphan_sidecar]["problem"]
assert damaged[bad_json]["data_file"] and damaged[bad_json]["sidecar_file"]
assert "sidecar" in damaged[bad_json]["problem"], damaged[bad_json]
assert entries[0]["data_file"].endswith(bad_json + ".tar.zst"), entries[0]
assert entries[-1]["data_file"].endswith(orphan_data + ".tar.zst"), entries[-1]
EOF

# --- verify: a good snapshot; no engine is needed (and no manifest)
noengine=(env DOCKER_HOST=unix:///nonexistent.sock)
run_verify() { # ARGS...: dockform volume verify ARGS, with no engine and no manifest
  local o=$TEST_TMP/.out e=$TEST_TMP/.err
  echo "+ dockform volume verify $*" >&2
  RC=0
  (cd "$TEST_TMP" && "${noengine[@]}" "$DOCKFORM" volume verify "$@" >"$o" 2>"$e" </dev/null) || RC=$?
  OUT=$(<"$o")
  ERR=$(<"$e")
}
# verify_json FILE CODE CHECKS: verify --json of FILE exits CODE and the
# Python CHECKS (asserts on d, the JSON it printed) hold.
verify_json() {
  run_verify "$1" --json
  assert_eq "$2" "$RC" "verify --json of $1"
  printf '%s' "$OUT" | python3 -c 'import json, sys
d = json.load(sys.stdin)
exec(sys.argv[1])' "$3" || fail "verify --json of $1: $OUT"
}
run_verify "$folder/${good[2]}"
assert_eq 0 "$RC" "verify of a good snapshot"
assert_contains "$OUT" "OK" "verify of a good snapshot"
assert_not_contains "$OUT" "problem" "verify of a good snapshot"
verify_json "$folder/${good[1]}" 0 '
assert d["ok"] is True and d["problems"] == [] and d["format"] == "tar.zst", d
assert d["sidecar"] and d["sidecar"].endswith(".json"), d
assert d["file_count"] == 3, d
'

# A copy of a good snapshot with its sidecar copied too.
copy_pair() { # SRC_STEM NEW_STEM
  cp "$folder/$1.tar.zst" "$TEST_TMP/$2.tar.zst"
  cp "$folder/$1.json" "$TEST_TMP/$2.json"
}
expect_bad() { # FILE WORD: verify fails (exit 3) with a problem; --json agrees
  run_verify "$1"
  assert_eq 3 "$RC" "verify of $1"
  assert_contains "$OUT" "problem:" "verify of $1 prints a problem"
  assert_contains "$OUT" "FAILED" "verify of $1"
  [[ -z ${2:-} ]] || assert_contains "$OUT" "$2" "verify of $1 says why"
  verify_json "$1" 3 'assert d["ok"] is False and len(d["problems"]) > 0, d'
}

flip_copy() { # SRC_FOLDER SRC_STEM NEW_STEM: copy with one bit flipped in the middle of the data
  cp "$1/$2.tar.zst" "$TEST_TMP/$3.tar.zst"
  cp "$1/$2.json" "$TEST_TMP/$3.json"
  flip_byte "$TEST_TMP/$3.tar.zst" half 0x10
  ! cmp -s "$1/$2.tar.zst" "$TEST_TMP/$3.tar.zst" || fail "the bit flip changed nothing"
}
truncated_copy() { # SRC_FOLDER SRC_STEM NEW_STEM: copy cut to half its size
  cp "$1/$2.tar.zst" "$TEST_TMP/$3.tar.zst"
  cp "$1/$2.json" "$TEST_TMP/$3.json"
  local size
  size=$(stat -c %s "$TEST_TMP/$3.tar.zst")
  truncate -s $((size / 2)) "$TEST_TMP/$3.tar.zst"
}

# bit flip and truncation in a snapshot of a few MB
big="${PFX}big"
engine volume create "$big" >/dev/null
vol_exec "$big" sh -c 'dd if=/dev/urandom of=/v/random.bin bs=1M count=3 2>/dev/null; echo small >/v/small.txt'
printf '  %s: {}\n' "$big" >>"$proj/dockform.yml"
run_df -c "$proj" volume snapshot "$big" -o "$TEST_TMP/bigsnaps"
assert_eq 0 "$RC" "snapshot of $big"
big_stem=$(cd "$TEST_TMP/bigsnaps/$big" && ls -- *.tar.zst)
big_stem=${big_stem%.tar.zst}
run_verify "$TEST_TMP/bigsnaps/$big/$big_stem.tar.zst"
assert_eq 0 "$RC" "verify of the big snapshot"
flip_copy "$TEST_TMP/bigsnaps/$big" "$big_stem" 2026-01-01T00-00-01Z__spec-f11bf11b
expect_bad "$TEST_TMP/2026-01-01T00-00-01Z__spec-f11bf11b.tar.zst"
truncated_copy "$TEST_TMP/bigsnaps/$big" "$big_stem" 2026-01-01T00-00-02Z__spec-7bc7bc7b
expect_bad "$TEST_TMP/2026-01-01T00-00-02Z__spec-7bc7bc7b.tar.zst"

# a sidecar whose checksum does not match intact data
mism=2026-01-01T00-00-03Z__spec-5eedf00d
copy_pair "$stem0" "$mism"
python3 - "$TEST_TMP/$mism.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["checksum"]["tar_zst"] = "0" * 64
json.dump(d, open(p, "w"), indent=2)
EOF
expect_bad "$TEST_TMP/$mism.tar.zst" "checksum"

# --- a plain .tar made by busybox tar: OK without a sidecar, with a warning
engine run --rm --name "${PFX}tar" --network none --log-driver none -v "$vol:/v:ro" \
  "$DOCKFORM_TEST_BUSYBOX_IMAGE" tar -cf - -C /v . >"$TEST_TMP/plain.tar"
[[ -s $TEST_TMP/plain.tar ]] || fail "busybox tar wrote nothing"
run_verify "$TEST_TMP/plain.tar"
assert_eq 0 "$RC" "verify of a plain .tar"
assert_contains "$OUT" "OK" "verify of a plain .tar"
assert_contains "$ERR" "warning" "verify of a plain .tar warns"
assert_contains "$ERR" "sidecar" "the warning is about the missing sidecar"
verify_json "$TEST_TMP/plain.tar" 0 '
assert d["ok"] is True and d["format"] == "tar" and d["sidecar"] is None, d
assert d["file_count"] == 3 and len(d["warnings"]) > 0, d
'

# --- a tar with an unsafe member
python3 - "$TEST_TMP/unsafe.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("./ok.txt", b"fine\n"), ("../evil", b"evil\n")):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
EOF
expect_bad "$TEST_TMP/unsafe.tar" "unsafe"

# --- not a snapshot at all
printf 'not a tar' >"$TEST_TMP/junk.tar.zst"
expect_bad "$TEST_TMP/junk.tar.zst"

# --- the data file without a sidecar from the list above verifies, with a warning
run_verify "$folder/$orphan_data.tar.zst"
assert_eq 0 "$RC" "verify of a data file without sidecar"
assert_contains "$ERR" "sidecar" "verify without sidecar warns"

# --- bit flip and truncation in the small snapshots of $vol (a few hundred KB,
# the whole archive within the first block the tar reader asks for)
flip_copy "$folder" "$stem0" 2026-01-01T00-00-04Z__spec-f11bf11c
expect_bad "$TEST_TMP/2026-01-01T00-00-04Z__spec-f11bf11c.tar.zst"
truncated_copy "$folder" "$stem0" 2026-01-01T00-00-05Z__spec-7bc7bc7c
expect_bad "$TEST_TMP/2026-01-01T00-00-05Z__spec-7bc7bc7c.tar.zst"

pass
