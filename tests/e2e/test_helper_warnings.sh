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
M=$TEST_TMP/manifest
write_manifest "$M" warnings "$dst"
engine volume create "$dst" >/dev/null
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
assert_eq 1001 "$(json_field warnings | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
  "warnings in --json: 1,000 word for word and a count"
assert_eq "./d00/f000: Cannot restore extended attributes on this file system." "$(json_field warnings.0)" \
  "the first warning, word for word"
assert_eq "... and 99,000 more warnings" "$(json_field warnings.1000)" "the last line counts the others"
assert_contains "$ERR" "... and 99,000 more warnings" "the count is shown on stderr too"
assert_eq 100000 "$(vol_exec "$dst" sh -c 'find /v -type f | wc -l')" "every file restored"
pass
