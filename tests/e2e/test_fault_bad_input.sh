#!/usr/bin/env bash
# Bad input not covered by test_restore_corrupt.sh, test_restore_unsafe.sh,
# test_list_verify.sh or test_manifest_errors.sh. Restores: each refused with a
# message that says what is wrong, the volume's tree unchanged, no .dockform-*
# entry, helper or lock container left:
#  - a sidecar that is not JSON beside a good snapshot;
#  - a zero-byte .tar.zst, with and without a sidecar;
#  - one bit flipped at the start (zstd magic), 1 KiB in and in the last byte,
#    sidecar beside the copy;
#  - truncation to 10 %, 50 % and 99 % with the sidecar beside it;
#  - a tar member named with 5000 bytes (one component), one whose path is
#    5000 bytes (25 components), one whose single component is 300 bytes
#    (over NAME_MAX);
#  - an archive carrying dockform's own reserved names at its root (a swap
#    journal .dockform-swap-ID saying "1" and a .dockform-restore-ID folder):
#    it must not be able to plant a journal that a later run "finishes"
#    (the later run would move the live content away and delete it).
# A sidecar of another volume (volume_name differs): the restore goes ahead
# with a warning naming both volumes (today's behaviour).
# Manifests: a billion-laughs alias bomb, 10000 levels of nested flow
# sequences and of flow mappings, 2000 levels of block mappings, invalid
# UTF-8: `validate` exits 5 with a message naming the file, within 20 s,
# without crashing. UTF-16 with a BOM (valid YAML): read correctly, or exit 5.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools zstd

src=${PFX}src
live=${PFX}live
other=${PFX}other
manifest_and_volumes faultbad "$src" "$live" "$other"

fault_trap "dockform-lock-$live" "dockform-lock-$other"

vol_exec "$src" sh -euc '
  cd /v
  dd if=/dev/urandom of=random.bin bs=1M count=2 2>/dev/null
  mkdir -p d/e && echo nested > d/e/f
  echo top > top.txt
'
snapshot_of "$src"
sidecar=${snap%.tar.zst}.json
want_src=$(tree_listing "$src")

vol_exec "$live" sh -euc '
  cd /v
  echo "known content" > known.txt
  mkdir -p sub/deeper && echo deep > sub/deeper/f
  echo dot > .dot
  chmod 711 /v
'
# check_untouched WHAT: the volume and the engine are as before.
keep_untouched "$live"
# refused WHAT FILE [WORD...]: restore --force of FILE fails, names the problem, changes nothing.
refused() {
  local what=$1 file=$2 word
  shift 2
  run_df -c "$M" volume restore "$live" "$file" --force
  echo "$what: exit $RC: ${ERR//$'\n'/ | }"
  ((RC != 0)) || fail "$what: the restore succeeded"
  ((RC < 128)) || fail "$what: dockform crashed (exit $RC)"
  assert_contains "$ERR" "error" "$what: an error is printed"
  for word in "$@"; do assert_contains "$ERR" "$word" "$what: the message"; done
  check_untouched "$what"
}
# Damaged data is "refused for safety" (exit 3), as verify reports it and as
# the other damaged archives are refused; mismatches are collected.
problems=()
expect_damaged_code() { # WHAT
  ((RC == 3)) || problems+=("$1: exit $RC, expected 3 (a damaged archive is refused for safety): ${ERR##*error: }")
}
# copy_pair NAME: a copy of the snapshot and its sidecar as $TEST_TMP/bad/NAME.{tar.zst,json}; prints the data path.
mkdir -p "$TEST_TMP/bad"
copy_pair() {
  cp "$snap" "$TEST_TMP/bad/$1.tar.zst"
  cp "$sidecar" "$TEST_TMP/bad/$1.json"
  echo "$TEST_TMP/bad/$1.tar.zst"
}
size=$(stat -c %s "$snap")

# --- sidecar that is not JSON
f=$(copy_pair badjson)
printf '{"volume_name": "x", "checksum": ' >"${f%.tar.zst}.json"
refused "unreadable sidecar" "$f" "sidecar" "badjson.json"

# --- zero-byte data file, with and without sidecar
f=$(copy_pair zero)
: >"$f"
refused "zero-byte .tar.zst with sidecar" "$f"
expect_damaged_code "zero-byte .tar.zst with sidecar"
rm -f "${f%.tar.zst}.json"
refused "zero-byte .tar.zst without sidecar" "$f"
expect_damaged_code "zero-byte .tar.zst without sidecar"

# --- bit flips at the start, 1 KiB in, and in the last byte
for where in 0 1024 $((size - 1)); do
  f=$(copy_pair "flip$where")
  flip_byte "$f" "$where" 0x04
  cmp -s "$f" "$snap" && fail "the flip at $where changed nothing"
  refused "bit flipped at byte $where of $size" "$f"
  expect_damaged_code "bit flipped at byte $where"
done

# --- truncation to 10 %, 50 %, 99 %, sidecar beside it
for pct in 10 50 99; do
  f=$(copy_pair "trunc$pct")
  truncate -s $((size * pct / 100)) "$f"
  refused "truncated to $pct %" "$f"
  expect_damaged_code "truncated to $pct %"
done

# --- long names
python3 - "$TEST_TMP/bad" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
def write(name, members):
    with tarfile.open(f"{out}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("./"); d.type = tarfile.DIRTYPE; d.mode = 0o755; t.addfile(d)
        for n in members:
            i = tarfile.TarInfo(n); data = b"x\n"; i.size = len(data); i.mode = 0o644
            t.addfile(i, io.BytesIO(data))
    with tarfile.open(f"{out}/{name}.tar") as t:
        assert [m.name for m in t.getmembers()][1:] == members
write("name5000", ["./ok.txt", "./" + "n" * 5000])
write("path5000", ["./ok.txt", "./" + "/".join(["d" * 199] * 25)])
write("name300", ["./ok.txt", "./" + "n" * 300])
EOF
zstd -q "$TEST_TMP/bad/name5000.tar" -o "$TEST_TMP/bad/name5000.tar.zst"
refused "member named with 5000 bytes (.tar.zst)" "$TEST_TMP/bad/name5000.tar.zst" "unsafe"
assert_eq 3 "$RC" "a 5000-byte member name is refused for safety"
refused "member path of 5000 bytes (.tar)" "$TEST_TMP/bad/path5000.tar" "unsafe"
assert_eq 3 "$RC" "a 5000-byte member path is refused for safety"
refused "member name of 300 bytes (over NAME_MAX)" "$TEST_TMP/bad/name300.tar" "File name too long"

# --- a sidecar of another volume: restored, with a warning
run_df -c "$M" volume restore "$other" "$snap"
assert_eq 0 "$RC" "restore with a sidecar of another volume"
assert_contains "$ERR" "warning: the snapshot was taken of volume $src, not $other" "warning naming both volumes"
assert_eq "$want_src" "$(tree_listing "$other")" "the restored tree (sidecar of another volume)"

# --- manifests
mdir=$TEST_TMP/manifests
mkdir -p "$mdir"/{laughs,deep,utf16,badutf8}
python3 - "$mdir" <<'EOF'
import sys
d = sys.argv[1]
# Billion laughs: 9 levels of 10 aliases each.
lines = ["docker:", "  identifier: bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for i in range(1, 10):
    prev = f"*a{i-1}"
    lines.append(f"a{i}: &a{i} [" + ",".join([prev] * 10) + "]")
lines.append("volumes: *a9")
open(f"{d}/laughs/dockform.yml", "w").write("\n".join(lines) + "\n")
# 10000 levels of nesting, flow style and block style.
open(f"{d}/deep/dockform.yml", "w").write("docker:\n  identifier: deep\nvolumes: " + "[" * 10000 + "]" * 10000 + "\n")
open(f"{d}/deep/flowmap.yml", "w").write("docker:\n  identifier: deep\nvolumes: " + "{a: " * 10000 + "1" + "}" * 10000 + "\n")
# Block style: 2000 levels (10000 would exceed the 4 MiB size limit on indentation alone).
block = "docker:\n  identifier: deep\nvolumes:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(2000))
open(f"{d}/deep/block.yml", "w").write(block)
text = "docker:\n  identifier: utf\nvolumes:\n  a: {}\n"
open(f"{d}/utf16/dockform.yml", "wb").write(b"\xff\xfe" + text.encode("utf-16-le"))
# Invalid UTF-8 where any text is allowed: a comment and a fileset source
# (0xff 0xfe, a Latin-1 e-acute, a truncated two-byte sequence).
open(f"{d}/badutf8/dockform.yml", "wb").write(
    b"docker:\n  identifier: x\n# comment \xff\xfe\nvolumes:\n  a: {}\nfilesets:\n  f:\n"
    b"    source: \"./caf\xe9\xc3(\"\n    target_volume: a\n    target_path: /srv\n")
EOF
manifest_refused() { # WHAT PATH
  local rc=0
  timeout -k 5 20 "$DOCKFORM" -c "$2" validate >"$TEST_TMP/m.out" 2>"$TEST_TMP/m.err" </dev/null || rc=$?
  RC=$rc OUT=$(<"$TEST_TMP/m.out") ERR=$(<"$TEST_TMP/m.err")
  echo "$1: exit $rc: ${ERR:0:300}"
  ((rc != 124 && rc != 137)) || fail "$1: validate did not finish within 20 s"
  assert_eq 5 "$rc" "$1: validate exit code"
  assert_contains "$ERR" "$2" "$1: the error names the file"
}
manifest_refused "billion laughs" "$mdir/laughs/dockform.yml"
manifest_refused "10000 nested flow sequences" "$mdir/deep/dockform.yml"
manifest_refused "10000 nested flow mappings" "$mdir/deep/flowmap.yml"
manifest_refused "2000 nested block mappings" "$mdir/deep/block.yml"
# UTF-16 with a BOM is a valid YAML encoding (YAML 1.2, 5.2): read correctly
# or refused with exit 5, nothing else.
rc=0
timeout -k 5 20 "$DOCKFORM" -c "$mdir/utf16/dockform.yml" validate >"$TEST_TMP/m.out" 2>"$TEST_TMP/m.err" </dev/null || rc=$?
RC=$rc OUT=$(<"$TEST_TMP/m.out") ERR=$(<"$TEST_TMP/m.err")
echo "UTF-16 with BOM: exit $rc: $OUT $ERR"
if ((rc == 0)); then
  assert_contains "$OUT" "identifier utf, 1 volumes" "UTF-16 with BOM: the manifest is read correctly"
else
  assert_eq 5 "$rc" "UTF-16 with BOM: validate exit code"
  assert_contains "$ERR" "$mdir/utf16/dockform.yml" "UTF-16 with BOM: the error names the file"
fi
# Invalid UTF-8 is not YAML (YAML 1.2, 5.2: a stream is Unicode text).
rc=0
timeout -k 5 20 "$DOCKFORM" -c "$mdir/badutf8/dockform.yml" validate >"$TEST_TMP/m.out" 2>"$TEST_TMP/m.err" </dev/null || rc=$?
echo "invalid UTF-8: exit $rc: $(cat "$TEST_TMP/m.out" "$TEST_TMP/m.err")"
((rc != 124 && rc != 137 && rc < 128)) || fail "invalid UTF-8: validate hung or crashed (exit $rc)"
if ((rc != 5)); then
  problems+=("invalid UTF-8 in a comment and a fileset source: validate exits $rc, expected 5 with an error naming the file")
else
  assert_contains "$(cat "$TEST_TMP/m.err")" "$mdir/badutf8/dockform.yml" "invalid UTF-8: the error names the file"
fi

# --- reserved names inside an archive
python3 - "$TEST_TMP/bad/planted.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data=None):
        i = tarfile.TarInfo(name); i.mtime = 1000000000
        if data is None:
            i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
        else:
            i.size = len(data); i.mode = 0o644; t.addfile(i, io.BytesIO(data))
    add("./")
    add("./ok.txt", b"ok\n")
    add("./.dockform-swap-zzzzzzzzzzzz", b"1\n")
    add("./.dockform-restore-zzzzzzzzzzzz")
    add("./.dockform-restore-zzzzzzzzzzzz/planted.txt", b"planted\n")
EOF
run_df -c "$M" volume restore "$other" "$TEST_TMP/bad/planted.tar" --force
echo "archive with reserved names: exit $RC: ${ERR//$'\n'/ | }"
names=$(vol_exec "$other" ls -a /v)
if ((RC == 0)); then
  [[ $names != *".dockform-"* ]] ||
    problems+=("a restore that accepts an archive with reserved names leaves them in the volume: $(grep '^\.dockform-' <<<"$names" | tr '\n' ' ')")
elif [[ $(tree_listing "$other") != "$want_src" ]]; then
  problems+=("the volume changed although the archive with reserved names was refused")
fi
# Whatever happened, a later run must not act on a planted journal: a restore
# refused because the volume is not empty changes nothing.
vol_exec "$other" sh -c 'echo precious > /v/precious.txt'
kept=$(tree_listing "$other")
run_df -c "$M" volume restore "$other" "$snap"
assert_eq 3 "$RC" "restore without --force into the non-empty volume"
got=$(tree_listing "$other")
if [[ $got != "$kept" ]]; then
  diff <(echo "$kept") <(echo "$got") >&2 || true
  problems+=("a restore refused for a non-empty volume changed it (diff above), acting on the journal planted by an archive: ${ERR//$'\n'/ | }")
fi

if ((${#problems[@]} > 0)); then
  RC=""
  fail "$(printf '\n  %s' "${problems[@]}")"
fi

pass
