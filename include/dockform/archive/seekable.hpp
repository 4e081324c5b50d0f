#pragma once
// The seekable snapshot format (docs/snapshot-format.md): the tar stream cut
// by the Chunker, each chunk its own zstd frame; then the member index in a
// skippable frame (kIndexMagic); then a seek table as zstd's seekable format
// lays it out, the file's last frame. `zstd -dc` skips both trailers.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/archive/tar_walker.hpp"
#include "dockform/util/fd.hpp"

namespace dockform::archive {

inline constexpr std::uint32_t kSkippableMagicMask = 0xfffffff0u;
inline constexpr std::uint32_t kSkippableMagicStart = 0x184d2a50u;
// Variant 0xD: the member index (0xE is the seek table's, which other
// producers use too, so the index has a variant of its own).
inline constexpr std::uint32_t kIndexMagic = 0x184d2a5du;
inline constexpr std::uint32_t kSeekTableMagic = 0x184d2a5eu;
inline constexpr std::uint32_t kSeekableFooterMagic = 0x8f92eab1u;
inline constexpr std::size_t kSeekFooterSize = 9;
// The index payload starts with these bytes and a version byte.
inline constexpr std::string_view kIndexTag = "DFIX";
inline constexpr std::uint8_t kIndexVersion = 1;

// One frame as the seek table and the index describe it.
struct Frame {
  std::uint32_t compressed = 0;    // bytes in the file
  std::uint32_t decompressed = 0;  // bytes of the tar stream (0: a skippable frame)
  std::uint64_t file_offset = 0;   // where it starts in the file
  std::uint64_t tar_offset = 0;    // where its bytes start in the tar stream
  std::string sha256;              // hex SHA-256 of its decompressed bytes (data frames; 32 raw bytes in the file)
};

// A member of the tar stream; offsets are in the tar stream. Its bytes (the
// headers, pax ones included, and the data) are [header_offset, end_offset).
struct Member {
  std::string path;  // as stored, e.g. "./etc/passwd"
  TarEntry::Type type = TarEntry::Type::other;
  std::uint32_t mode = 0;  // permission bits
  std::uint64_t uid = 0;
  std::uint64_t gid = 0;
  std::int64_t size = 0;
  std::int64_t mtime = 0;  // seconds since the epoch
  std::uint32_t mtime_nsec = 0;
  std::string target;  // link target
  std::uint64_t header_offset = 0;
  std::uint64_t data_offset = 0;
  std::uint64_t end_offset = 0;  // the next member's header_offset, or members_end
  // As TarEntry::counts_as_file: regular files and hardlinks to them.
  bool counts_as_file() const { return type == TarEntry::Type::file || type == TarEntry::Type::hardlink; }
  // The same member `delta` bytes later in another tar stream.
  void move_by(std::int64_t delta) {
    header_offset = static_cast<std::uint64_t>(static_cast<std::int64_t>(header_offset) + delta);
    data_offset = static_cast<std::uint64_t>(static_cast<std::int64_t>(data_offset) + delta);
    end_offset = static_cast<std::uint64_t>(static_cast<std::int64_t>(end_offset) + delta);
  }
};

// The index's record of a member whose headers start at `header_offset`.
Member member_of(const TarEntry& entry, std::uint64_t header_offset, std::uint64_t data_offset);

struct SeekableIndex {
  std::vector<Frame> frames;  // the data frames, in order
  std::vector<Member> members;
  std::uint64_t members_end = 0;   // where the end-of-archive blocks start
  std::uint64_t tar_bytes = 0;     // the whole tar stream
  std::uint64_t index_offset = 0;  // the index frame in the file
  std::uint32_t index_size = 0;
  std::string index_sha256;  // hex SHA-256 of the index frame's bytes as stored
};

// The index frame's bytes (skippable header included) for `index`'s frames,
// members and members_end; member offsets are stored as frame number and
// offset inside the frame.
std::string encode_index_frame(const SeekableIndex& index, int level);
// The seek table frame: one entry per data frame, one for the index frame.
std::string encode_seek_table(const std::vector<Frame>& frames, std::uint32_t index_frame_size);

// Random reads of a snapshot file: a local file, a bucket's object by
// ranged GETs (store::open_random_access), the plaintext of an age file (AgeFile).
class RandomAccess {
 public:
  virtual ~RandomAccess() = default;
  virtual std::uint64_t size() = 0;
  // Exactly `length` bytes from `offset`; throws Error when it cannot.
  virtual std::string read(std::uint64_t offset, std::size_t length) = 0;
  // Bytes read so far (for the figures: a listing reads the tail only).
  std::uint64_t bytes_read() const { return bytes_read_; }

 protected:
  std::uint64_t bytes_read_ = 0;
};

class LocalFile : public RandomAccess {
 public:
  explicit LocalFile(const std::string& path);
  std::uint64_t size() override;
  std::string read(std::uint64_t offset, std::size_t length) override;

 private:
  std::string path_;
  util::Fd fd_;
};

// Bytes in memory (tests, fuzzing).
class MemoryFile : public RandomAccess {
 public:
  explicit MemoryFile(std::string bytes) : bytes_(std::move(bytes)) {}
  std::uint64_t size() override { return bytes_.size(); }
  std::string read(std::uint64_t offset, std::size_t length) override;

 private:
  std::string bytes_;
};

// The index of a seekable snapshot from its tail (footer, seek table, index
// frame); nullopt for a file without a seek table (older snapshots, other
// tools). Throws Error (Exit::refused) when the trailers are damaged or do
// not agree with each other.
std::optional<SeekableIndex> read_seekable_index(RandomAccess& file);

// A member as the index is decoded (the reference lives until the next call).
using MemberSink = std::function<void(const Member&)>;
// Sees the index's frames and index_sha256 before any member is decoded;
// throws to refuse it.
using IndexCheck = std::function<void(const SeekableIndex&)>;
// The same, with the members given to `sink` one by one, in archive order,
// and not kept (the index's `members` stays empty): a listing of 100,000
// members holds one at a time. `check` (when set) runs first.
std::optional<SeekableIndex> read_seekable_index(RandomAccess& file, const IndexCheck& check, const MemberSink& sink);

// Frame `number`'s tar bytes, after checking them against the index's
// SHA-256: throws Error (Exit::refused, "checksum mismatch") otherwise.
std::string read_frame(RandomAccess& file, const SeekableIndex& index, std::size_t number);

// The number of the frame holding tar offset `offset` (the last frame when past the end).
std::size_t frame_at(const std::vector<Frame>& frames, std::uint64_t offset);

}  // namespace dockform::archive
