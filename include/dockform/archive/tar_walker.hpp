#pragma once
// Walks the members of a tar stream with libarchive, pulling the bytes from a
// caller-supplied source. Data is skipped: only headers are looked at.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

struct archive;

namespace dockform::archive {

struct TarEntry {
  enum class Type { file, directory, symlink, hardlink, fifo, device, socket, other };
  std::string path;    // as stored, e.g. "./etc/passwd"
  std::string target;  // symlink or hardlink target
  Type type = Type::other;
  std::int64_t size = 0;
  bool sparse = false;
  std::uint32_t mode = 0;  // permission bits
  std::uint64_t uid = 0;
  std::uint64_t gid = 0;
  std::int64_t mtime = 0;
  std::uint32_t mtime_nsec = 0;
  // A path `find -type f` counts: regular files and hardlinks to them.
  bool counts_as_file() const { return type == Type::file || type == Type::hardlink; }
  // Where this member's data ends in the stream (data padded to 512-byte
  // blocks), given where it starts; unknown for sparse members.
  std::optional<std::uint64_t> data_end(std::int64_t data_offset) const {
    if (sparse) return std::nullopt;
    auto stored = static_cast<std::uint64_t>(size > 0 ? size : 0);
    return static_cast<std::uint64_t>(data_offset) + (stored + 511) / 512 * 512;
  }
};

class TarWalker {
 public:
  // Returns the next block of the stream; an empty view at the end. The block
  // must stay valid until the next call.
  using Source = std::function<std::string_view()>;
  explicit TarWalker(Source source);
  ~TarWalker();
  TarWalker(const TarWalker&) = delete;
  TarWalker& operator=(const TarWalker&) = delete;

  // Called with each header before its data is read, and the stream offset
  // where the data starts; may throw to stop the walk.
  using Inspect = std::function<void(const TarEntry&, std::int64_t data_offset)>;

  // Called while a sparse member's data is read, with the stream offset up to
  // which the parser has consumed it, and once more at its end (padding
  // included): only there is its end known (its header gives the file's
  // size, not the size stored). Every byte before that offset belongs to the
  // member. May throw to stop the walk.
  using DataRead = std::function<void(std::int64_t consumed)>;

  // The next member, or nullopt at the end-of-archive marker. Throws Error
  // ("tar stream is damaged: ...") on a malformed or truncated stream.
  std::optional<TarEntry> next(const Inspect& inspect = {}, const DataRead& data_read = {});
  // Offset in the stream just past everything the parser has consumed.
  std::int64_t consumed() const;

 private:
  static long read_callback(struct archive*, void* self, const void** buffer);
  void skip_data(const TarEntry& entry, const DataRead& data_read);
  [[noreturn]] void throw_damaged(const TarEntry& entry);
  Source source_;
  struct archive* archive_;
  std::exception_ptr source_error_;
};

// Normalises "./a//b/./c" to "a/b/c"; "" is the volume root.
std::string normalise_member_path(std::string_view path);

// True for the names restore keeps for itself at the volume root
// (.dockform-restore-*, .dockform-old-*, .dockform-swap-*): an archive
// holding them could plant a swap journal that a later restore would obey.
bool is_reserved_root_name(std::string_view normalised_path);

// Rejects members that would write outside the extraction folder. Remembers
// symlinks seen so far, so a later member under one is refused. A hardlink to
// a symlink (`cp -al` makes them) is safe: link(2) does not follow it, and
// the new name is a symlink too.
class MemberSafety {
 public:
  // Empty when safe, else the reason.
  std::string check(const TarEntry& entry);

 private:
  // A symlink at `path` or at one of its parents.
  bool under_symlink(const std::string& path) const;
  // A symlink at one of the parents of `path` only.
  bool through_symlink(const std::string& path) const;
  std::set<std::string> symlinks_;
};

}  // namespace dockform::archive
