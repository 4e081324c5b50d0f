# The seed of fuzz_seekable_index (corpus/seekable_index/small.tar.zst): a small seekable
# snapshot, one data frame, written from docs/snapshot-format.md alone.
#   python3 tests/fuzz/make_seekable_seed.py >tests/fuzz/corpus/seekable_index/small.tar.zst
import hashlib, io, struct, subprocess, sys, tarfile

def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7f) | 0x80]); v >>= 7
    return out + bytes([v])
def text(t): return varint(len(t)) + t
def zstd(data):  # a frame with its content size, as dockform's reader needs
    return subprocess.run(["zstd", "-q", "-c", "--check", "-3", "--stream-size=%d" % len(data)], input=data,
                          capture_output=True, check=True).stdout

buf = io.BytesIO()
infos = []
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    def add(name, kind, data=b"", mode=0o644, target=""):
        ti = tarfile.TarInfo(name); ti.type = kind; ti.mode = mode; ti.uid = 1000; ti.gid = 100; ti.mtime = 1700000000
        ti.size = len(data); ti.linkname = target
        tar.addfile(ti, io.BytesIO(data) if data else None)
    add("./", tarfile.DIRTYPE, mode=0o755)
    add("./etc/", tarfile.DIRTYPE, mode=0o755)
    add("./etc/app.conf", tarfile.REGTYPE, b"setting = 1\n", 0o600)
    add("./etc/link", tarfile.SYMTYPE, mode=0o777, target="app.conf")
tar_bytes = buf.getvalue()
members = tarfile.open(fileobj=io.BytesIO(tar_bytes)).getmembers()
types = {tarfile.REGTYPE: 0, tarfile.DIRTYPE: 1, tarfile.SYMTYPE: 2}
last = members[-1]
members_end = last.offset_data + ((last.size + 511) // 512) * 512
frame = zstd(tar_bytes)
payload = b"DFIX" + bytes([1]) + varint(1) + hashlib.sha256(tar_bytes).digest() + varint(len(members))
prev = b""
for m in members:
    name = m.name.encode()
    name = b"./" if m.name in (".", "./") else name if m.name.startswith("./") else b"./" + name
    if m.isdir() and not name.endswith(b"/"): name += b"/"
    shared = 0
    while shared < min(len(prev), len(name)) and prev[shared] == name[shared]: shared += 1
    payload += varint(shared) + text(name[shared:]) + bytes([types[m.type]]) + varint(m.mode) + varint(m.uid) + varint(m.gid)
    payload += varint(m.size) + varint(m.mtime << 1) + varint(0) + text(m.linkname.encode())
    payload += varint(0) + varint(m.offset) + varint(0) + varint(m.offset_data)
    prev = name
payload += varint(0) + varint(members_end)
index = zstd(payload)
index_frame = struct.pack("<II", 0x184D2A5D, len(index)) + index
body = struct.pack("<II", len(frame), len(tar_bytes)) + struct.pack("<II", len(index_frame), 0)
body += struct.pack("<IBI", 2, 0, 0x8F92EAB1)
table = struct.pack("<II", 0x184D2A5E, len(body)) + body
sys.stdout.buffer.write(frame + index_frame + table)
