#include "dockform/archive/seekable.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dockform/archive/chunker.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"

namespace dockform::archive {

namespace {
// Larger indexes are refused as damaged: 100,000 members take about 10 MB.
constexpr std::size_t kMaxIndexBytes = 256u << 20;
// A data frame holds one chunk at most.
constexpr std::size_t kMaxFrameBytes = kMaxChunk;

[[noreturn]] void damaged(const std::string& what) { throw Error("snapshot index is damaged: " + what, Exit::refused); }

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xffu);
}

std::uint32_t get_u32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  return value;
}

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

void put_text(std::string& out, std::string_view text) {
  put_varint(out, text.size());
  out += text;
}

// Reads what put_varint and put_text wrote, refusing to run past the end.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) damaged("it ends inside a number");
      auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      value |= std::uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80u) == 0) return value;
    }
    damaged("a number is too long");
  }
  std::string_view take(std::uint64_t size) {
    if (size > bytes_.size() - pos_) damaged("it ends inside a field");
    auto part = bytes_.substr(pos_, size);
    pos_ += size;
    return part;
  }
  std::string_view text() { return take(varint()); }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// The 32 bytes a hex SHA-256 spells.
std::string raw_digest(const std::string& hex) {
  if (hex.size() != 64) throw Error("internal: a frame without its SHA-256");
  std::string raw;
  for (std::size_t i = 0; i < 64; i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return raw;
}

std::size_t common_prefix(std::string_view a, std::string_view b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// A tar offset as the frame holding it and the offset inside that frame.
void put_position(std::string& out, const std::vector<Frame>& frames, std::uint64_t offset) {
  std::size_t frame = frame_at(frames, offset);
  put_varint(out, frame);
  put_varint(out, frames.empty() ? offset : offset - frames[frame].tar_offset);
}

std::uint64_t get_position(Cursor& in, const std::vector<Frame>& frames) {
  std::uint64_t frame = in.varint();
  std::uint64_t offset = in.varint();
  if (frames.empty()) {
    if (frame != 0 || offset != 0) damaged("a member lies outside the data frames");
    return 0;
  }
  if (frame >= frames.size() || offset > frames[frame].decompressed) damaged("a member lies outside its frame");
  return frames[frame].tar_offset + offset;
}

void put_member(std::string& out, const Member& member, std::string_view previous, const std::vector<Frame>& frames) {
  // Sorted paths share long prefixes: only what differs is stored.
  std::size_t shared = common_prefix(previous, member.path);
  put_varint(out, shared);
  put_text(out, std::string_view(member.path).substr(shared));
  out += static_cast<char>(member.type);
  put_varint(out, member.mode);
  put_varint(out, member.uid);
  put_varint(out, member.gid);
  put_varint(out, static_cast<std::uint64_t>(std::max<std::int64_t>(member.size, 0)));
  // Zigzag: mtimes before 1970 stay short.
  put_varint(out, (static_cast<std::uint64_t>(member.mtime) << 1) ^ static_cast<std::uint64_t>(member.mtime >> 63));
  put_varint(out, member.mtime_nsec);
  put_text(out, member.target);
  put_position(out, frames, member.header_offset);
  put_position(out, frames, member.data_offset);
}

// The next member into `member`, which holds the previous one: only what
// differs from its path is stored (put_member).
void get_member(Cursor& in, Member& member, const std::vector<Frame>& frames) {
  std::uint64_t shared = in.varint();
  if (shared > member.path.size()) damaged("a path shares more than the previous one holds");
  member.path.resize(shared);
  member.path += in.text();
  auto type = static_cast<unsigned char>(in.take(1)[0]);
  if (type > static_cast<unsigned char>(TarEntry::Type::other)) damaged("unknown member type");
  member.type = static_cast<TarEntry::Type>(type);
  member.mode = static_cast<std::uint32_t>(in.varint());
  member.uid = in.varint();
  member.gid = in.varint();
  member.size = static_cast<std::int64_t>(in.varint());
  std::uint64_t zigzag = in.varint();
  member.mtime = static_cast<std::int64_t>(zigzag >> 1) ^ -static_cast<std::int64_t>(zigzag & 1);
  member.mtime_nsec = static_cast<std::uint32_t>(in.varint());
  member.target = in.text();
  member.header_offset = get_position(in, frames);
  member.data_offset = get_position(in, frames);
}

// The payload: tag, version, the frames' SHA-256, the members, members_end.
std::string encode_payload(const SeekableIndex& index) {
  std::string out(kIndexTag);
  out += static_cast<char>(kIndexVersion);
  put_varint(out, index.frames.size());
  for (const auto& frame : index.frames) out += raw_digest(frame.sha256);
  put_varint(out, index.members.size());
  std::string_view previous;
  for (const auto& member : index.members) {
    put_member(out, member, previous, index.frames);
    previous = member.path;
  }
  put_position(out, index.frames, index.members_end);
  return out;
}

// Each member ends where the next one's headers start: a member goes to
// `sink` once the next one (or the end) is known.
void finish_member(Member& member, std::uint64_t end, const MemberSink& sink) {
  member.end_offset = end;
  if (member.end_offset < member.data_offset || member.data_offset < member.header_offset) {
    damaged("member " + member.path + " has its offsets out of order");
  }
  sink(member);
}

void decode_payload(std::string_view payload, SeekableIndex& index, const MemberSink& sink) {
  Cursor in(payload);
  if (in.take(kIndexTag.size()) != kIndexTag) damaged("no index tag");
  if (static_cast<unsigned char>(in.take(1)[0]) != kIndexVersion) damaged("unknown index version");
  if (in.varint() != index.frames.size()) damaged("the index and the seek table count different frames");
  for (auto& frame : index.frames) {
    auto raw = in.take(32);
    frame.sha256 = util::hex(raw.data(), raw.size());
  }
  std::uint64_t count = in.varint();
  if (count > payload.size()) damaged("more members than bytes");
  Member member;  // the one decoded last, given once the next one starts
  Member next;
  for (std::uint64_t i = 0; i < count; ++i) {
    next.path = member.path;
    get_member(in, next, index.frames);
    if (i > 0) finish_member(member, next.header_offset, sink);
    std::swap(member, next);
  }
  index.members_end = get_position(in, index.frames);
  if (count > 0) finish_member(member, index.members_end, sink);
  if (!in.at_end()) damaged("bytes after its end");
}

std::string skippable_frame(std::uint32_t magic, std::string_view payload) {
  std::string out;
  put_u32(out, magic);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out += payload;
  return out;
}
}  // namespace

Member member_of(const TarEntry& entry, std::uint64_t header_offset, std::uint64_t data_offset) {
  Member member;
  member.path = entry.path;
  member.type = entry.type;
  member.mode = entry.mode;
  member.uid = entry.uid;
  member.gid = entry.gid;
  member.size = entry.size;
  member.mtime = entry.mtime;
  member.mtime_nsec = entry.mtime_nsec;
  member.target = entry.target;
  member.header_offset = header_offset;
  member.data_offset = data_offset;
  return member;
}

std::size_t frame_at(const std::vector<Frame>& frames, std::uint64_t offset) {
  auto after = std::upper_bound(frames.begin(), frames.end(), offset,
                                [](std::uint64_t value, const Frame& frame) { return value < frame.tar_offset; });
  return after == frames.begin() ? 0 : static_cast<std::size_t>(after - frames.begin() - 1);
}

std::string encode_index_frame(const SeekableIndex& index, int level) {
  util::ZstdFrameCompressor zstd(level);
  return skippable_frame(kIndexMagic, zstd.compress(encode_payload(index)));
}

std::string encode_seek_table(const std::vector<Frame>& frames, std::uint32_t index_frame_size) {
  std::string body;
  for (const auto& frame : frames) {
    put_u32(body, frame.compressed);
    put_u32(body, frame.decompressed);
  }
  put_u32(body, index_frame_size);
  put_u32(body, 0);
  // Footer: the number of frames, the descriptor (no checksums: the index
  // holds SHA-256s) and the seekable magic, the file's last 4 bytes.
  put_u32(body, static_cast<std::uint32_t>(frames.size() + 1));
  body += '\0';
  put_u32(body, kSeekableFooterMagic);
  return skippable_frame(kSeekTableMagic, body);
}

LocalFile::LocalFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (!fd_.valid()) throw Error("cannot open " + path + ": " + std::strerror(errno));
}

std::uint64_t LocalFile::size() {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw Error("cannot stat " + path_ + ": " + std::strerror(errno));
  return static_cast<std::uint64_t>(st.st_size);
}

std::string LocalFile::read(std::uint64_t offset, std::size_t length) {
  std::string out(length, '\0');
  auto got = util::pread_full(fd_.get(), out.data(), length, offset);
  if (!got) throw Error("cannot read " + path_ + ": " + std::strerror(errno));
  if (*got < length) throw Error(path_ + " is shorter than its seek table says", Exit::refused);
  bytes_read_ += length;
  return out;
}

std::string MemoryFile::read(std::uint64_t offset, std::size_t length) {
  if (offset > bytes_.size() || length > bytes_.size() - offset) {
    throw Error("the file is shorter than its seek table says", Exit::refused);
  }
  bytes_read_ += length;
  return bytes_.substr(static_cast<std::size_t>(offset), length);
}

namespace {
struct SeekTable {
  std::vector<Frame> frames;  // every frame before the table, the index included
  std::uint64_t table_size = 0;
};

// The seek table at the end of the file; nullopt when there is none.
std::optional<SeekTable> read_seek_table(RandomAccess& file) {
  std::uint64_t size = file.size();
  if (size < kSeekFooterSize + 8) return std::nullopt;
  std::string footer = file.read(size - kSeekFooterSize, kSeekFooterSize);
  if (get_u32(footer, 5) != kSeekableFooterMagic) return std::nullopt;
  std::uint32_t count = get_u32(footer, 0);
  auto descriptor = static_cast<unsigned char>(footer[4]);
  if ((descriptor & 0x7cu) != 0) damaged("reserved bits set in the seek table");
  std::uint64_t entry = (descriptor & 0x80u) != 0 ? 12 : 8;
  SeekTable table;
  table.table_size = 8 + entry * count + kSeekFooterSize;
  if (table.table_size > size) damaged("the seek table is larger than the file");
  std::string bytes = file.read(size - table.table_size, static_cast<std::size_t>(table.table_size));
  if (get_u32(bytes, 0) != kSeekTableMagic || get_u32(bytes, 4) != table.table_size - 8) {
    damaged("the seek table's frame header does not match its footer");
  }
  std::uint64_t file_offset = 0;
  std::uint64_t tar_offset = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    Frame frame{get_u32(bytes, 8 + i * entry), get_u32(bytes, 12 + i * entry), file_offset, tar_offset, {}};
    file_offset += frame.compressed;
    tar_offset += frame.decompressed;
    table.frames.push_back(frame);
  }
  if (file_offset + table.table_size != size) damaged("the seek table's frames do not add up to the file's size");
  return table;
}
}  // namespace

std::optional<SeekableIndex> read_seekable_index(RandomAccess& file, const IndexCheck& check, const MemberSink& sink) {
  auto table = read_seek_table(file);
  // Another tool's seekable file: no dockform index as its last frame.
  if (!table || table->frames.empty() || table->frames.back().decompressed != 0) return std::nullopt;
  const Frame last = table->frames.back();
  if (last.compressed < 8 || last.compressed > kMaxIndexBytes) return std::nullopt;
  std::string bytes = file.read(last.file_offset, last.compressed);
  if (get_u32(bytes, 0) != kIndexMagic) return std::nullopt;
  if (get_u32(bytes, 4) != last.compressed - 8) damaged("the index frame's size differs from the seek table's");
  SeekableIndex index;
  index.frames.assign(table->frames.begin(), table->frames.end() - 1);
  for (const auto& frame : index.frames) {
    if (frame.decompressed == 0 || frame.decompressed > kMaxFrameBytes) damaged("a data frame has an unusable size");
  }
  index.tar_bytes = last.tar_offset;
  index.index_offset = last.file_offset;
  index.index_size = last.compressed;
  index.index_sha256 = util::sha256_hex(bytes);
  if (check) check(index);
  decode_payload(util::zstd_decompress_frame(std::string_view(bytes).substr(8), kMaxIndexBytes), index, sink);
  return index;
}

std::optional<SeekableIndex> read_seekable_index(RandomAccess& file) {
  std::vector<Member> members;
  auto index = read_seekable_index(file, nullptr, [&members](const Member& member) { members.push_back(member); });
  if (index) index->members = std::move(members);
  return index;
}

std::string read_frame(RandomAccess& file, const SeekableIndex& index, std::size_t number) {
  const Frame& frame = index.frames.at(number);
  std::string bytes = file.read(frame.file_offset, frame.compressed);
  std::string data;
  try {
    data = util::zstd_decompress_frame(bytes, frame.decompressed);
  } catch (const Error& e) {
    throw Error("checksum mismatch: frame " + std::to_string(number) + " is damaged (" + e.what() + ")", Exit::refused);
  }
  if (data.size() != frame.decompressed || util::sha256_hex(data) != frame.sha256) {
    throw Error("checksum mismatch: frame " + std::to_string(number) + " differs from the snapshot's index",
                Exit::refused);
  }
  return data;
}

}  // namespace dockform::archive
