#include "dockform/ops/extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>

#include "dockform/archive/seekable.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/ops/browse.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::ops {

namespace {
struct ArchiveFree {
  void operator()(struct archive* a) const {
    // A reader and a writer are freed alike (archive_free is the generic one).
    archive_free(a);
  }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;
using Blocks = std::function<std::string_view()>;

constexpr int kDiskFlags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR |
                           ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS;

std::string error_of(struct archive* a) { return archive_error_string(a) ? archive_error_string(a) : "unknown error"; }

// The tar reader over `blocks`; a failure of `blocks` is parked in `error`.
struct Reader {
  explicit Reader(Blocks source) : blocks(std::move(source)) {}
  Blocks blocks;
  std::exception_ptr error;
  ArchivePtr archive{archive_read_new()};

  static la_ssize_t read(struct archive*, void* self, const void** buffer) {
    auto* reader = static_cast<Reader*>(self);
    try {
      auto block = reader->blocks();
      *buffer = block.data();
      return static_cast<la_ssize_t>(block.size());
    } catch (...) {
      reader->error = std::current_exception();
      return -1;
    }
  }
  void open() {
    archive_read_support_format_tar(archive.get());
    if (archive_read_open(archive.get(), this, nullptr, &Reader::read, nullptr) != ARCHIVE_OK) fail();
  }
  [[noreturn]] void fail() {
    if (error) std::rethrow_exception(error);
    throw Error("tar stream is damaged: " + error_of(archive.get()), Exit::refused);
  }
};

// Where the members go: a folder on disk, or a tar on standard output.
struct Writer {
  ArchivePtr archive;
  std::filesystem::path folder;  // empty: standard output

  explicit Writer(const std::string& output) {
    if (output == "-") {
      archive.reset(archive_write_new());
      archive_write_set_format_pax_restricted(archive.get());
      if (archive_write_open_fd(archive.get(), STDOUT_FILENO) != ARCHIVE_OK) {
        throw Error("cannot write a tar to standard output: " + error_of(archive.get()));
      }
      return;
    }
    folder = std::filesystem::absolute(output);
    std::filesystem::create_directories(folder);
    archive.reset(archive_write_disk_new());
    archive_write_disk_set_options(archive.get(), kDiskFlags | (::geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0));
    archive_write_disk_set_standard_lookup(archive.get());
  }
  // Names below the folder: the safety checks ran on the names as stored.
  void place(archive_entry* entry) const {
    if (folder.empty()) return;
    auto inside = [this](const char* name) {
      std::string path = archive::normalise_member_path(name);
      return (path.empty() ? folder : folder / path).string();
    };
    archive_entry_copy_pathname(entry, inside(archive_entry_pathname(entry)).c_str());
    if (const char* link = archive_entry_hardlink(entry)) archive_entry_copy_hardlink(entry, inside(link).c_str());
  }
  // The disk writer takes blocks at offsets (holes stay holes); the tar
  // writer takes the data in order, holes as zeros.
  bool write(const void* block, std::size_t size, la_int64_t offset) {
    if (!folder.empty()) return archive_write_data_block(archive.get(), block, size, offset) >= ARCHIVE_WARN;
    static const std::string zeros(65536, '\0');
    while (written < offset) {
      auto n = static_cast<std::size_t>(std::min<la_int64_t>(offset - written, 65536));
      if (archive_write_data(archive.get(), zeros.data(), n) < 0) return false;
      written += static_cast<la_int64_t>(n);
    }
    if (archive_write_data(archive.get(), block, size) < 0) return false;
    written += static_cast<la_int64_t>(size);
    return true;
  }
  la_int64_t written = 0;  // of the current entry, on the tar writer
  // A tar whose reader went away (`| tar -t | head`) ends quietly, as tar's own does.
  [[noreturn]] void fail(const std::string& what) const {
    if (folder.empty() && util::stdout_closed()) throw util::OutputClosed();
    throw Error("cannot write " + what + ": " + error_of(archive.get()));
  }
  void finish() {
    if (archive_write_close(archive.get()) == ARCHIVE_OK) return;
    if (folder.empty() && util::stdout_closed()) throw util::OutputClosed();
    throw Error("extract failed: " + error_of(archive.get()));
  }
};

// Copies the current entry's data; a damaged frame removes what was written of it.
void copy_data(Reader& reader, Writer& writer, const std::string& written_path) {
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(reader.archive.get(), &block, &size, &offset);
    if (rc == ARCHIVE_EOF) return;
    if (rc < ARCHIVE_WARN) {
      if (!writer.folder.empty()) std::filesystem::remove(written_path);
      reader.fail();
    }
    if (!writer.write(block, size, offset)) writer.fail(written_path);
  }
}

// Every member `blocks` holds that `wanted` accepts goes to `writer`.
std::uint64_t copy_members(const Blocks& blocks, const std::function<bool(const std::string&)>& wanted,
                           Writer& writer) {
  Reader reader(blocks);
  reader.open();
  archive::MemberSafety safety;
  std::uint64_t count = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    int rc = archive_read_next_header(reader.archive.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN || reader.error) reader.fail();
    archive::TarEntry checked;
    checked.path = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (const char* link = archive_entry_hardlink(entry)) {
      checked.type = archive::TarEntry::Type::hardlink;
      checked.target = link;
    } else if (archive_entry_filetype(entry) == AE_IFLNK) {
      checked.type = archive::TarEntry::Type::symlink;
    } else if (archive_entry_filetype(entry) == AE_IFDIR) {
      checked.type = archive::TarEntry::Type::directory;
    }
    if (auto reason = safety.check(checked); !reason.empty()) throw Error("unsafe member: " + reason, Exit::refused);
    if (!wanted(checked.path)) continue;
    writer.place(entry);
    writer.written = 0;
    if (archive_write_header(writer.archive.get(), entry) < ARCHIVE_WARN) writer.fail(checked.path);
    copy_data(reader, writer, archive_entry_pathname(entry));
    archive_write_finish_entry(writer.archive.get());
    ++count;
  }
  return count;
}

// The bytes of `members` (in archive order), frame by frame, each frame
// checked against the index before any of its bytes is given out.
class FrameBlocks {
 public:
  FrameBlocks(archive::RandomAccess& file, const archive::SeekableIndex& index,
              const std::vector<archive::Member>& members)
      : file_(file), index_(index) {
    for (const auto& member : members) {
      if (!ranges_.empty() && ranges_.back().second == member.header_offset) {
        ranges_.back().second = member.end_offset;
      } else {
        ranges_.emplace_back(member.header_offset, member.end_offset);
      }
    }
  }
  std::string_view next() {
    while (range_ < ranges_.size()) {
      auto [begin, end] = ranges_[range_];
      std::uint64_t at = std::max(begin, position_);
      if (at >= end) {
        ++range_;
        continue;
      }
      std::size_t number = archive::frame_at(index_.frames, at);
      if (number != loaded_) {
        frame_ = archive::read_frame(file_, index_, number);
        loaded_ = number;
        ++frames_read_;
      }
      const auto& frame = index_.frames[number];
      std::uint64_t stop = std::min<std::uint64_t>(end, frame.tar_offset + frame.decompressed);
      position_ = stop;
      return std::string_view(frame_).substr(at - frame.tar_offset, stop - at);
    }
    return {};
  }
  std::uint64_t frames_read() const { return frames_read_; }

 private:
  archive::RandomAccess& file_;
  const archive::SeekableIndex& index_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges_;
  std::size_t range_ = 0;
  std::uint64_t position_ = 0;
  std::size_t loaded_ = static_cast<std::size_t>(-1);
  std::string frame_;
  std::uint64_t frames_read_ = 0;
};

std::function<bool(const std::string&)> below_any(const std::vector<std::string>& paths) {
  std::vector<std::string> wanted;
  for (const auto& path : paths) wanted.push_back(archive::normalise_member_path(path));
  return [wanted](const std::string& member) {
    for (const auto& path : wanted) {
      if (is_at_or_below(member, path)) return true;
    }
    return false;
  };
}

// One pass through the whole (decompressed, decrypted) stream.
ExtractResult extract_sequentially(const store::Location& file, const std::vector<std::string>& paths, Writer& writer,
                                   const std::vector<crypto::age::Identity>& identities) {
  auto source = store::open_snapshot(file);
  auto reader = archive::open_reader(*source, archive::detect_format(*source), identities);
  ExtractResult result;
  result.members = copy_members([&reader] { return reader->next_block(); }, below_any(paths), writer);
  result.bytes_read = reader->bytes_read();
  return result;
}
}  // namespace

ExtractResult extract_snapshot(const store::Location& file, const std::vector<std::string>& paths,
                               const std::string& output, const std::vector<crypto::age::Identity>& identities) {
  if (paths.empty()) throw Error("name the files or folders to extract", Exit::usage);
  ExtractResult result;
  auto seekable = open_seekable(file, identities, paths);
  if (!seekable) {
    // Before anything is written: every path must be in the snapshot (this
    // pass also says that the snapshot is read whole).
    list_sequentially(file, paths, identities);
    Writer writer(output);
    result = extract_sequentially(file, paths, writer, identities);
    writer.finish();
    return result;
  }
  Writer writer(output);
  FrameBlocks blocks(*seekable->file, seekable->index, seekable->index.members);
  result.members = copy_members([&blocks] { return blocks.next(); }, below_any(paths), writer);
  result.frames_read = blocks.frames_read();
  result.bytes_read = seekable->file->bytes_read();
  result.from_index = true;
  writer.finish();
  return result;
}

}  // namespace dockform::ops
