# shellcheck shell=bash
# Test data for the end-to-end tests. Sourced by lib.sh, at its end.

# fill_tricky VOLUME: everything a round trip must keep: names with any bytes
# and long paths, contents, modes (setuid/setgid/sticky), numeric uid/gid,
# mtimes, symlinks (dangling too), hardlinks, empty folders, FIFOs, dotfiles
# at the volume root.
fill_tricky() {
  vol_exec "$1" sh -euc '
    cd /v
    mkdir -p "dir with spaces/nested/deeper" empty-dir "empty dir 2" sticky setgid
    echo hello > "dir with spaces/nested/deeper/file.txt"
    printf "caf\303\251 \342\230\225\n" > "utf8-caf$(printf "\303\251")-$(printf "\342\230\225").txt"
    printf "line\n" > "$(printf "name\nwith newline")"
    echo dot > .dotfile
    mkdir .dotdir && echo inner > .dotdir/.hidden
    echo setuid > setuid-bin && chmod 4755 setuid-bin
    echo setgid > setgid-bin && chmod 2711 setgid-bin
    chmod 1777 sticky && chmod 2775 setgid
    echo owned > owned && chown 1234:5678 owned && chmod 640 owned
    echo nobody > nobody-file && chown 65534:65534 nobody-file && chmod 600 nobody-file
    echo linked > hard-a && ln hard-a hard-b && ln hard-a "dir with spaces/hard-c"
    ln -s "dir with spaces/nested/deeper/file.txt" symlink-rel
    ln -s /does/not/exist dangling
    ln -s ../../.. "dir with spaces/nested/up"
    mkfifo fifo && chmod 620 fifo
    long=$(printf "%0100d" 0 | tr 0 d)
    mkdir -p "$long/$long" && echo deep > "$long/$long/over-100-bytes.txt"
    name250=$(printf "%0250d" 0 | tr 0 n)
    echo 250 > "$name250"
    dd if=/dev/urandom of=random.bin bs=1M count=3 2>/dev/null
    dd if=/dev/zero of=zeros.bin bs=1M count=2 2>/dev/null
    touch -d "2001-02-03 04:05:06" owned
    chown 4321:4321 "dir with spaces"
    chmod 750 /v
  '
}

# fill_known VOLUME: a small tree in which every change shows in tree_listing:
# a file, a nested one, a dotfile, a symlink, the root's mode 711.
fill_known() {
  vol_exec "$1" sh -euc '
    cd /v
    echo "known content" > known.txt
    mkdir -p sub/deeper && echo deep > sub/deeper/f
    echo dot > .dot
    ln -s known.txt link-to-known
    chmod 711 /v
  '
}

# tree_listing VOLUME [IMAGE]: one line per path with type, mode, owner, size,
# file mtime, link count, symlink target and content hash; sorted.
tree_listing() {
  engine run --rm --network none --log-driver none -v "$1:/v:ro" "${2:-$DOCKFORM_TEST_BUSYBOX_IMAGE}" sh -c '
    cd /v && find . | sort | while IFS= read -r p; do
      if [ -L "$p" ]; then echo "L|$p|$(readlink "$p")|$(stat -c "%u:%g" "$p")"
      elif [ -d "$p" ]; then echo "D|$p|$(stat -c "%a|%u:%g" "$p")"
      elif [ -p "$p" ]; then echo "P|$p|$(stat -c "%a|%u:%g|%Y" "$p")"
      elif [ -f "$p" ]; then echo "F|$p|$(stat -c "%a|%u:%g|%s|%Y|%h" "$p")|$(sha256sum < "$p" | cut -c1-64)"
      fi
    done
    echo "count=$(find . | wc -l) files=$(find . -type f | wc -l)"
  '
}

# live_listing VOLUME: tree_listing without the .dockform-* entries and the counts.
live_listing() {
  tree_listing "$1" | grep -v -e '^.|\./\.dockform-' -e '^count=' || true
}

# ---- the usual starts of a test ----------------------------------------------
# Each sets M (manifest_and_volumes, IDENT its identifier) and names every
# volume and container with $PFX.

# src_and_dst IDENT [VOLUME...]: volumes $src and $dst, and the VOLUMEs.
src_and_dst() {
  src=${PFX}src dst=${PFX}dst
  manifest_and_volumes "$1" "$src" "$dst" "${@:2}"
}

# tricky_source IDENT [VOLUME...]: a volume $src filled by fill_tricky, its
# tree_listing in $want, and the VOLUMEs (empty).
# shellcheck disable=SC2034 # set for the test
tricky_source() {
  src=${PFX}src
  manifest_and_volumes "$1" "$src" "${@:2}"
  fill_tricky "$src"
  want=$(tree_listing "$src")
}

# src_and_target IDENT: volumes $src (to fill and snapshot) and $target (to
# restore into), $app the name for a user of $target; at exit fault_trap
# removes the lock and the stopped-containers record a killed restore of
# $target leaves.
# shellcheck disable=SC2034 # set for the test
src_and_target() {
  src=${PFX}src target=${PFX}target app=${PFX}app
  manifest_and_volumes "$1" "$src" "$target"
  fault_trap "dockform-lock-$target" "dockform-stopped-$target"
}

# big_and_target IDENT: volumes $big (to fill with much data) and $target; at
# exit fault_trap removes the lock a killed restore of $target leaves.
big_and_target() {
  big=${PFX}big target=${PFX}target
  manifest_and_volumes "$1" "$big" "$target"
  fault_trap "dockform-lock-$target"
}

# snapshot_of VOLUME [FLAG...]: a snapshot of VOLUME (manifest $M) into
# $TEST_TMP/snaps that must succeed; its data file in $snap.
# shellcheck disable=SC2034 # set for the test
snapshot_of() {
  run_df -c "$M" volume snapshot "$1" -o "$TEST_TMP/snaps" --json "${@:2}"
  assert_eq 0 "$RC" "snapshot of $1"
  snap=$(json_field data_file)
}

# ---- damaged copies ------------------------------------------------------------

# flip_byte FILE OFFSET MASK: XORs the byte at OFFSET of FILE (a number, or
# half: the middle byte) with MASK (0x.. or a number).
flip_byte() {
  python3 - "$@" <<'EOF' || fail "cannot flip a byte of $1"
import sys
path, offset, mask = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
with open(path, "r+b") as f:
    at = f.seek(0, 2) // 2 if offset == "half" else int(offset)
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ mask]))
EOF
}

# sidecar_with_checksum SIDECAR COPY DIGIT: writes COPY, the sidecar SIDECAR
# with a checksum.tar_zst of 64 times DIGIT (one no file has).
sidecar_with_checksum() {
  python3 - "$@" <<'EOF' || fail "cannot write $2"
import json, sys
doc = json.load(open(sys.argv[1]))
doc["checksum"]["tar_zst"] = sys.argv[3] * 64
json.dump(doc, open(sys.argv[2], "w"), indent=2)
EOF
}
