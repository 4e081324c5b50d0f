#!/usr/bin/env bash
# stages: sanitize
# slow
# Seekable snapshots read at random where they are kept: `volume ls` and
# `volume extract` of an object in a bucket (a real Ceph radosgw) by ranged
# GETs, and of an encrypted .tar.zst.age (local and in the bucket) by single
# age chunks. They give what the local plain snapshot gives, and read a small
# part of the file (bytes counted by dockform: ls --json, extract -v); a
# tampered age chunk is refused (exit 3); a wrong key is refused.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

need_tools age-keygen zstd tar

src=${PFX}seeks3
manifest_and_volumes seeks3 "$src"
# 16 MiB of random data, so that 1% of the file is more than the two age
# chunks (64 KiB each) that can hold its tail; app.ini shares its
# frame with zeros only, so that frame is small once compressed.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$src" sh -euc '
  cd /v
  mkdir -p app/conf data
  echo "key = value" > app/conf/app.ini
  dd if=/dev/zero of=app/zeros bs=1M count=4 2>/dev/null
  chmod 640 app/conf/app.ini && chown 1234:5678 app/conf/app.ini
  i=0; while [ $i -lt 4 ]; do dd if=/dev/urandom of=data/r$i.bin bs=1M count=4 2>/dev/null; i=$((i+1)); done
  ln -s conf/app.ini app/link
' || fail "filling $src"

K=$TEST_TMP/keys
mkdir -p "$K"
age-keygen -o "$K/key.txt" 2>/dev/null
age-keygen -o "$K/other.txt" 2>/dev/null
recipient=$(age-keygen -y "$K/key.txt")

snapshot() { # OUT [ARGS...]: the data file's path or URL
  local out=$1
  shift
  run_df -c "$M" volume snapshot "$src" -o "$out" --json "$@"
  assert_eq 0 "$RC" "snapshot to $out $*: $ERR"
  json_field data_file
}
plain=$(snapshot "$TEST_TMP/local")
remote=$(snapshot "$S3_BASE")
enc=$(snapshot "$TEST_TMP/enc" -r "$recipient")
remote_enc=$(snapshot "$S3_BASE/enc" -r "$recipient")
[[ $remote_enc == s3://*.tar.zst.age ]] || fail "encrypted object is named $remote_enc"
size=$(stat -c %s "$plain")
enc_size=$(stat -c %s "$enc")

run_df volume ls "$plain" -l
assert_eq 0 "$RC" "ls of the local snapshot: $ERR"
want_ls=$OUT
ref=$TEST_TMP/ref
mkdir -p "$ref"
zstd -dc "$plain" | tar -xf - -C "$ref" ./app/conf/app.ini || fail "tar cannot extract app.ini"

# check_ls SNAPSHOT STORED_SIZE [ARGS...]: the same listing as the local
# plain snapshot, from the index, reading at most 1% of the stored file.
check_ls() {
  local snap=$1 stored=$2
  shift 2
  run_df volume ls "$snap" -l "$@"
  assert_eq 0 "$RC" "ls $snap: $ERR"
  assert_eq "$want_ls" "$OUT" "ls -l of $snap vs the local plain snapshot"
  assert_not_contains "$ERR" "sequential" "ls $snap reads its index"
  run_df volume ls "$snap" --json "$@"
  assert_eq true "$(json_field from_index)" "ls --json of $snap: from_index"
  local read
  read=$(json_field bytes_read)
  echo "ls $snap: read $read of $stored bytes" >&2
  ((read * 100 <= stored)) || fail "ls of $snap read $read of $stored bytes (more than 1%)"
  LS_READ=$read
}

# check_extract SNAPSHOT STORED_SIZE [ARGS...]: app.ini as tar gives it,
# reading at most 2% of the stored file plus what ls read (the index).
check_extract() {
  local snap=$1 stored=$2 got=$TEST_TMP/got$RANDOM
  shift 2
  run_df -v volume extract "$snap" ./app/conf/app.ini -o "$got" "$@"
  assert_eq 0 "$RC" "extract from $snap: $ERR"
  cmp "$ref/app/conf/app.ini" "$got/app/conf/app.ini" || fail "app.ini from $snap differs from tar's"
  assert_eq "640" "$(stat -c %a "$got/app/conf/app.ini")" "mode of app.ini from $snap"
  local read
  read=$(sed -n 's/.*read \([0-9]*\) bytes of .*frames).*/\1/p' <<<"$ERR" | tail -1)
  [[ -n $read ]] || fail "extract -v of $snap did not say the bytes it read: $ERR"
  echo "extract $snap: read $read of $stored bytes (ls: $LS_READ)" >&2
  ((read * 100 <= stored * 2 + LS_READ * 100)) || fail "extract from $snap read $read of $stored bytes"
}

# ---------------------------------------------------------------- s3://
check_ls "$remote" "$size"
check_extract "$remote" "$size"

# ---------------------------------------------------------------- .tar.zst.age, local and in the bucket
check_ls "$enc" "$enc_size" -i "$K/key.txt"
check_extract "$enc" "$enc_size" -i "$K/key.txt"
check_ls "$remote_enc" "$enc_size" -i "$K/key.txt"
check_extract "$remote_enc" "$enc_size" -i "$K/key.txt"
"$DOCKFORM" volume extract "$enc" ./app -o - -i "$K/key.txt" 2>/dev/null >"$TEST_TMP/app.tar" ||
  fail "extract -o - of an encrypted snapshot"
assert_eq $'./app/\n./app/conf/\n./app/conf/app.ini\n./app/link\n./app/zeros' "$(tar -tf "$TEST_TMP/app.tar" | sort)" \
  "extract -o - of an encrypted snapshot gives the folder's members"

run_df volume ls "$enc"
assert_eq 2 "$RC" "ls of an encrypted snapshot without a key"
assert_contains "$ERR" "give its key" "ls without a key says how"
run_df volume ls "$enc" -i "$K/other.txt"
assert_eq 3 "$RC" "ls with another key"
assert_contains "$ERR" "no identity matches" "ls with another key says so"

# A changed byte in the middle of the payload: the listing (the tail) still
# works, the frame that holds the byte does not.
bad=$TEST_TMP/bad/$(basename "$enc")
mkdir -p "$TEST_TMP/bad"
cp "$enc" "$bad"
# (r2.bin: the zeros compress to nothing, each rN.bin is a quarter of the file.)
printf '\x55' | dd of="$bad" bs=1 seek=$((enc_size * 5 / 8)) conv=notrunc 2>/dev/null
run_df volume ls "$bad" -i "$K/key.txt"
assert_eq 0 "$RC" "ls of an encrypted snapshot with a changed middle chunk: $ERR"
mid=./data/r2.bin
run_df volume extract "$bad" "$mid" -o "$TEST_TMP/fromdamaged" -i "$K/key.txt"
assert_eq 3 "$RC" "extract of $mid across the changed chunk"
assert_contains "$ERR" "does not authenticate" "the damaged chunk is named"
assert_no_file "$TEST_TMP/fromdamaged/${mid#./}" "nothing is left of a member in a damaged chunk"

pass
