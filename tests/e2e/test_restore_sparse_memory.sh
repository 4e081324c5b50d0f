#!/usr/bin/env bash
# A 1 GiB sparse file holding 192 MiB of data (12 extents of 16 MiB) is
# snapshotted and restored: the restored file has the same bytes (SHA-256 of
# all 1 GiB), the same size and is still sparse, and the restore's peak RSS
# (/usr/bin/time -v) stays within the 64 MiB bound. The checked walk cannot
# tell from a sparse member's header where its data ends: it passes the data
# on as it reads it, not once the next header is checked (which held all
# 192 MiB in dockform). Under AddressSanitizer only the bytes are checked.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src_and_dst sparsemem
# Text extents (compressible: the snapshot stays small), 80 MiB apart.
# shellcheck disable=SC2016 # expanded by the container's shell
vol_exec "$src" sh -euc '
  cd /v && truncate -s 1G sparse
  for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
    yes "extent $i of the sparse file" | head -c 16777216 | dd of=sparse bs=1M seek=$((i * 80 + 8)) conv=notrunc 2>/dev/null
  done' || fail "filling $src"

# shape VOLUME: the sparse file's size, allocated KiB and SHA-256.
shape() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  vol_exec "$1" sh -c 'cd /v && echo "$(stat -c %s sparse) $(du -k sparse | cut -f1) $(sha256sum < sparse | cut -c1-64)"' ||
    fail "reading the sparse file of $1"
}
read -r size kib sum <<<"$(shape "$src")"
assert_eq 1073741824 "$size" "apparent size of the source file"
((kib >= 196608 && kib < 200704)) || fail "the source file should hold 192 MiB of data, it takes $kib KiB"

run_df -c "$M" volume snapshot "$src" -o "$TEST_TMP/store" --json
assert_eq 0 "$RC" "snapshot of the sparse file"
snap=$(json_field data_file)
timed_df "restore of the sparse file" "$TEST_TMP/restore.time" -c "$M" volume restore "$dst" "$snap" >/dev/null

read -r got_size got_kib got_sum <<<"$(shape "$dst")"
assert_eq "$size" "$got_size" "apparent size of the restored file"
assert_eq "$sum" "$got_sum" "SHA-256 of the restored file (1 GiB, holes included)"
((got_kib < 200704)) || fail "the restored file takes $got_kib KiB: its holes were filled"

assert_peak_rss "$TEST_TMP/restore.time" 64 "the restore of a 1 GiB sparse file with 192 MiB of data"
pass
