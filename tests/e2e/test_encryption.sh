#!/usr/bin/env bash
# Snapshots encrypted in the age format, against Debian's age 1.1.1:
# - `snapshot -r` writes only <stem>.tar.zst.age; the sidecar's checksum.tar_zst
#   is the SHA-256 of what `age -d` gives back, checksum.tar_zst_age that of the
#   stored file, the encryption block names the public keys; `age -d` opens it;
# - verify without a key checks the stored bytes and the header, with one
#   everything; restore -i brings back every byte; list and prune see it;
# - `age -r` applied to a plain snapshot (its sidecar unchanged) restores;
# - passphrases both ways, age's prompt driven through a pseudo-terminal;
# - -R files, DOCKFORM_RECIPIENTS, the manifest's snapshots block (secrets
#   refused there), --all;
# - every refusal leaves the volume as it was: no key, a key that does not
#   match, a wrong passphrase, a changed byte in the header and in the
#   payload, a cut file; a bad -r fails before any work; an identity file
#   others can read is used with a warning.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools age age-keygen script

dst=${PFX}dst
tricky_source encryption "$dst"

K=$TEST_TMP/keys
mkdir -p "$K"
age-keygen -o "$K/one.txt" 2>/dev/null
age-keygen -o "$K/two.txt" 2>/dev/null
age-keygen -o "$K/other.txt" 2>/dev/null
one=$(age-keygen -y "$K/one.txt")
two=$(age-keygen -y "$K/two.txt")
printf 'correct horse battery staple\n' >"$K/pass"
printf 'wrong horse\n' >"$K/wrong"
chmod 600 "$K"/*

# restore_fresh SNAPSHOT ARGS...: restores into the emptied $dst and compares it with the source.
restore_fresh() {
  local snapshot=$1
  shift
  vol_exec "$dst" sh -c 'rm -rf /v/..?* /v/.[!.]* /v/*'
  run_df -c "$M" volume restore "$dst" "$snapshot" "$@" --json
  assert_eq 0 "$RC" "restore of $snapshot: $ERR"
  assert_eq "true" "$(json_field checksum_verified)" "restore of $snapshot verified its checksum"
  assert_eq "$want" "$(tree_listing "$dst")" "restore of $snapshot brought back every byte"
}

# ---------------------------------------------------------------- -r: what is written, age -d opens it
out=$TEST_TMP/snaps
run_df -c "$M" volume snapshot "$src" -o "$out" -r "$one" --json
assert_eq 0 "$RC" "encrypted snapshot: $ERR"
enc=$(json_field data_file)
sidecar=$(json_field sidecar_file)
[[ $enc == *.tar.zst.age ]] || fail "encrypted data file is named $enc"
assert_eq "true" "$(json_field encrypted)" "--json says encrypted"
assert_eq "$enc" "$(files_under "$out" | grep -v '\.json$')" "only the encrypted file is written (nothing plain)"
assert_eq "age-encryption.org/v1" "$(head -c 21 "$enc")" "the file starts with the age header"
assert_eq "$(sha256sum <"$enc" | cut -c1-64)" "$(json_field checksum.tar_zst_age "$sidecar")" \
  "checksum.tar_zst_age is the stored file's SHA-256"
age -d -i "$K/one.txt" -o "$TEST_TMP/plain.tar.zst" "$enc" || fail "age -d could not open dockform's file"
assert_eq "$(sha256sum <"$TEST_TMP/plain.tar.zst" | cut -c1-64)" "$(json_field checksum.tar_zst "$sidecar")" \
  "checksum.tar_zst is the SHA-256 of what age decrypts"
assert_eq "{\"format\": \"age\", \"recipients\": [\"$one\"]}" "$(json_field encryption "$sidecar")" \
  "the encryption block names the public key"
assert_not_contains "$(cat "$sidecar")" "AGE-SECRET-KEY" "no secret in the sidecar"
zstd -dc "$TEST_TMP/plain.tar.zst" | tar -tf - >/dev/null || fail "GNU tar cannot list the decrypted snapshot"

# ---------------------------------------------------------------- verify, restore, list
run_df volume verify "$enc" --json
assert_eq 0 "$RC" "verify without a key: $OUT $ERR"
assert_eq "false" "$(json_field content_checked)" "verify without a key checks the stored bytes only"
assert_contains "$(json_field warnings)" "give --identity" "verify without a key says how to check everything"
run_df volume verify "$enc" -i "$K/one.txt" --json
assert_eq 0 "$RC" "verify with the key: $OUT $ERR"
assert_eq "true" "$(json_field content_checked)" "verify with the key checks the content"
assert_eq "$(json_field file_count "$sidecar")" "$(json_field file_count)" "verify with the key counts the files"
restore_fresh "$enc" -i "$K/one.txt"
assert_eq "true" "$(json_field encrypted)" "restore --json says encrypted"
run_df -c "$M" volume list "$src" -o "$out" --json
assert_eq 0 "$RC" "list"
assert_eq "true" "$(json_field snapshots.0.encrypted)" \
  "list says the snapshot is encrypted"
run_df -c "$M" volume list "$src" -o "$out"
assert_contains "$OUT" "encrypted" "list's table shows the encryption"

# ---------------------------------------------------------------- after an interrupted restore's recovery
# The helper finds a killed restore's staging folder, the snapshot recovers
# the volume and streams again: the file must hold one age stream, not the
# first attempt's header before the second's. (A volume of its own: $src's
# root must keep its mtime for the byte comparisons below.)
left=${PFX}left
write_manifest "$TEST_TMP/left-manifest" encryption-left "$left"
engine volume create "$left" >/dev/null
vol_exec "$left" sh -c 'echo data >/v/data && mkdir /v/.dockform-restore-zzzzzzzzzzzz && echo half >/v/.dockform-restore-zzzzzzzzzzzz/x'
run_df -c "$TEST_TMP/left-manifest" volume snapshot "$left" -o "$TEST_TMP/recovered" -r "$one" --json
assert_eq 0 "$RC" "encrypted snapshot of a volume with a restore's leftovers: $ERR"
recovered=$(json_field data_file)
assert_eq "$(sha256sum <"$recovered" | cut -c1-64)" "$(json_field checksum.tar_zst_age "$(json_field sidecar_file)")" \
  "after a recovery: checksum.tar_zst_age is the stored file's SHA-256"
age -d -i "$K/one.txt" -o "$TEST_TMP/recovered.tar.zst" "$recovered" || fail "age -d could not open the snapshot taken after a recovery"
assert_eq "./data" "$(zstd -dc "$TEST_TMP/recovered.tar.zst" | tar -tf - | grep -v '^\./$')" "the snapshot taken after a recovery"

# ---------------------------------------------------------------- age -r on a plain snapshot
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/plain" --json
assert_eq 0 "$RC" "plain snapshot"
plain=$(json_field data_file)
age -r "$two" -o "$plain.age" "$plain" || fail "age -r"
rm "$plain"
restore_fresh "$plain.age" -i "$K/two.txt"
run_df volume verify "$plain.age" -i "$K/two.txt" --json
assert_eq 0 "$RC" "verify of the file age encrypted: $OUT"

# ---------------------------------------------------------------- -R, several recipients
printf '# team keys\n%s\n\n# backup key\n%s\n' "$one" "$two" >"$K/recipients"
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/both" -R "$K/recipients" --json
assert_eq 0 "$RC" "snapshot -R: $ERR"
both=$(json_field data_file)
assert_eq "[\"$one\", \"$two\"]" "$(json_field encryption.recipients "$(json_field sidecar_file)")" "both recipients recorded"
restore_fresh "$both" -i "$K/two.txt"
age -d -i "$K/one.txt" "$both" | zstd -dc | tar -tf - >/dev/null || fail "age -d with the first key"

# ---------------------------------------------------------------- passphrases, both ways through a pty
# age reads passphrases from the terminal only: `script` gives it one and
# forwards our input; the input stays open until age has finished.
age_tty() { # INPUT-LINES COMMAND
  local done_file=$TEST_TMP/.age_done
  rm -f "$done_file"
  { printf '%s' "$1"; for _ in $(seq 300); do [[ -e $done_file ]] && break; sleep 0.1; done; } |
    script -qec "$2; echo \$? > $done_file" /dev/null >/dev/null
  [[ $(cat "$done_file" 2>/dev/null) == 0 ]]
}
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/pass" --passphrase-file "$K/pass" --json
assert_eq 0 "$RC" "snapshot --passphrase-file: $ERR"
pass_file=$(json_field data_file)
assert_eq "true" "$(json_field encryption.passphrase "$(json_field sidecar_file)")" "the sidecar says passphrase"
age_tty $'correct horse battery staple\n' "age -d -o $TEST_TMP/pass.tar.zst $pass_file" ||
  fail "age -d with the passphrase could not open dockform's file"
assert_eq "$(json_field checksum.tar_zst "$(json_field sidecar_file)")" \
  "$(sha256sum <"$TEST_TMP/pass.tar.zst" | cut -c1-64)" "age -d with the passphrase gives the compressed tar"
restore_fresh "$pass_file" --passphrase-file "$K/pass"
age_tty $'correct horse battery staple\ncorrect horse battery staple\n' "age -p -o $plain.p.age $TEST_TMP/plain.tar.zst" ||
  fail "age -p"
cp "$(dirname "$plain")/$(basename "$plain" .tar.zst).json" "$(dirname "$plain")/passcopy.json"
mv "$plain.p.age" "$(dirname "$plain")/passcopy.tar.zst.age"
run_df volume verify "$(dirname "$plain")/passcopy.tar.zst.age" --passphrase-file "$K/pass" --json
assert_eq 0 "$RC" "verify of age -p's file with the passphrase: $OUT $ERR"
assert_eq "true" "$(json_field content_checked)" "age -p's file checked completely"

# ---------------------------------------------------------------- refusals: volume untouched
restore_fresh "$enc" -i "$K/one.txt"
before=$(tree_listing "$dst")
refused() { # EXIT-CODE MESSAGE-PART WHAT SNAPSHOT ARGS...
  local code=$1 part=$2 what=$3 snapshot=$4
  shift 4
  run_df -c "$M" volume restore "$dst" "$snapshot" --force "$@"
  assert_eq "$code" "$RC" "$what: exit code ($ERR)"
  assert_contains "$ERR" "$part" "$what: message"
  assert_volume_untouched "$dst" "$before" "$what"
}
refused 2 "give its key with --identity" "no identity" "$enc"
refused 3 "no identity" "an identity that does not match" "$enc" -i "$K/other.txt"
refused 3 "passphrase is wrong" "a wrong passphrase" "$pass_file" --passphrase-file "$K/wrong"
bad=$TEST_TMP/bad
mkdir -p "$bad"
stem=$(basename "$enc" .tar.zst.age)
damage() { # NAME: a copy of the encrypted snapshot and its sidecar under NAME
  cp "$enc" "$bad/$1.tar.zst.age"
  cp "$sidecar" "$bad/$1.json"
  echo "$bad/$1.tar.zst.age"
}
header=$(damage header)
# Another base64 letter inside the recipient stanza: 'X', or 'Y' where it was
# an 'X' already (once in 64 runs the 'X' alone changed nothing).
python3 - "$header" <<'EOF' || fail "cannot change the header of $header"
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(60)
    was = f.read(1)
    f.seek(60)
    f.write(b"Y" if was == b"X" else b"X")
EOF
refused 3 "cannot decrypt" "a changed byte in the header" "$header" -i "$K/one.txt"
payload=$(damage payload)
size=$(stat -c %s "$payload")
printf '\x01' | dd of="$payload" bs=1 seek=$((size / 2)) conv=notrunc status=none
refused 3 "checksum mismatch" "a changed byte in the payload" "$payload" -i "$K/one.txt"
cut=$(damage cut)
truncate -s $((size - 100)) "$cut"
refused 3 "checksum mismatch" "a cut file" "$cut" -i "$K/one.txt"
run_df volume verify "$payload" -i "$K/one.txt"
assert_eq 3 "$RC" "verify of a damaged encrypted file"
run_df volume verify "$cut"
assert_eq 3 "$RC" "verify without a key of a cut file"
# Others can read the key: it is used, with a warning.
cp "$K/one.txt" "$K/open.txt" && chmod 644 "$K/open.txt"
run_df -c "$M" volume restore "$dst" "$enc" --force -i "$K/open.txt"
assert_eq 0 "$RC" "restore with an identity file others can read: $ERR"
assert_contains "$ERR" "can be read by other users" "the identity file's mode is warned about"
# A malformed recipient: refused before any work (no folder, no container).
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/never" -r age1notakey
assert_eq 2 "$RC" "a malformed recipient"
assert_contains "$ERR" "age1notakey" "the message names the bad key"
assert_no_file "$TEST_TMP/never" "a malformed recipient created the snapshot folder"

# ---------------------------------------------------------------- environment, manifest, --all
DOCKFORM_RECIPIENTS="$two" run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/env" --json
assert_eq 0 "$RC" "DOCKFORM_RECIPIENTS: $ERR"
assert_eq "[\"$two\"]" "$(json_field encryption.recipients "$(json_field sidecar_file)")" \
  "DOCKFORM_RECIPIENTS applies"
M2=$TEST_TMP/manifest2
write_manifest "$M2" encryption "$src" "$dst"
cp "$K/recipients" "$M2/keys.txt"
printf 'snapshots:\n  recipients_file: keys.txt\n' >>"$M2/dockform.yml"
run_df -c "$M2" volume snapshot --all -o "$TEST_TMP/all" --json
assert_eq 0 "$RC" "snapshot --all with the manifest's recipients: $ERR"
count=$(find "$TEST_TMP/all" -name '*.tar.zst.age' | wc -l)
assert_eq 2 "$count" "--all encrypts every volume"
assert_eq "" "$(find "$TEST_TMP/all" -name '*.tar.zst')" "--all wrote a plain file"
printf 'snapshots:\n  passphrase: hunter2\n' >>"$M/dockform.yml"
run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/never"
assert_eq 5 "$RC" "a secret in the manifest"
assert_contains "$ERR" "secrets do not belong in the manifest" "the manifest's secret is refused"

# ---------------------------------------------------------------- prune sees encrypted snapshots
older=$(files_under "$TEST_TMP/all/$src")
run_df -c "$M2" volume snapshot "$src" -o "$TEST_TMP/all" --json
assert_eq 0 "$RC" "a second encrypted snapshot"
newer=$(json_field data_file)
run_df -c "$M2" volume prune "$src" -o "$TEST_TMP/all" --keep-last 1 --json
assert_eq 0 "$RC" "prune of encrypted snapshots: $OUT $ERR"
for file in $older; do assert_no_file "$file" "prune kept an older encrypted snapshot's file"; done
assert_file_exists "$newer" "prune removed the newest encrypted snapshot"
pass
