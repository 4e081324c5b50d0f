#!/usr/bin/env bash
# A good restore that warns about every one of its 100,000 files (each
# carries an extended attribute the volume's filesystem cannot take, as ACLs
# on a filesystem without them): the restore succeeds (exit 0) with every
# file in place, shows the first 1,000 warnings word for word and counts the
# others ("... and 99,000 more warnings"). The helper's messages are counted,
# not cut: a cut line would read as an error and fail the restore.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dst=${PFX}dst
manifest_and_volumes warnings "$dst"
# 100 folders of 1,000 empty files, each with a system.* attribute that no
# filesystem knows (EOPNOTSUPP: "Cannot restore extended attributes on this
# file system.").
python3 - "$TEST_TMP/warn.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    root = tarfile.TarInfo("./")
    root.type, root.mode, root.mtime = tarfile.DIRTYPE, 0o755, 1000000000
    t.addfile(root)
    for d in range(100):
        folder = tarfile.TarInfo(f"./d{d:02d}")
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, 1000000000
        t.addfile(folder)
        for f in range(1000):
            info = tarfile.TarInfo(f"./d{d:02d}/f{f:03d}")
            info.mode, info.mtime = 0o644, 1000000000
            info.pax_headers = {"SCHILY.xattr.system.dockform_test": "1"}
            t.addfile(info, io.BytesIO(b""))
EOF
zstd -q --rm "$TEST_TMP/warn.tar" -o "$TEST_TMP/warn.tar.zst"

run_df -c "$M" volume restore "$dst" "$TEST_TMP/warn.tar.zst" --json
assert_eq 0 "$RC" "restore of 100,000 files that each warn"
# (The restore's own warning comes first: the archive has no sidecar.)
summary=$(json_field warnings | python3 -c '
import json, sys
warnings = json.load(sys.stdin)
xattr = [w for w in warnings if w.endswith(": Cannot restore extended attributes on this file system.")]
print(len(xattr), xattr[0] if xattr else "-", warnings[-1], sep="\n")')
assert_eq "1000
./d00/f000: Cannot restore extended attributes on this file system.
... and 99,000 more warnings" "$summary" "warnings in --json: the first 1,000 word for word, then a count"
assert_contains "$ERR" "... and 99,000 more warnings" "the count is shown on stderr too"
assert_eq 100000 "$(vol_exec "$dst" sh -c 'find /v -type f | wc -l')" "every file restored"
pass
