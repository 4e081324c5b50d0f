#include "dockform/archive/tar_walker.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <vector>

#include "dockform/util/error.hpp"
#include "dockform/util/names.hpp"

namespace dockform::archive {

TarWalker::TarWalker(Source source) : source_(std::move(source)), archive_(archive_read_new()) {
  if (archive_ == nullptr) throw Error("cannot allocate a tar reader");
  archive_read_support_filter_none(archive_);
  archive_read_support_format_tar(archive_);
  // Opening reads the first block already: a source failure surfaces here.
  if (archive_read_open(archive_, this, nullptr, &TarWalker::read_callback, nullptr) != ARCHIVE_OK) {
    std::string message = archive_error_string(archive_) ? archive_error_string(archive_) : "unknown error";
    archive_read_free(archive_);
    if (source_error_) std::rethrow_exception(source_error_);
    throw Error("tar stream is damaged: " + message, Exit::refused);
  }
}

TarWalker::~TarWalker() { archive_read_free(archive_); }

long TarWalker::read_callback(struct archive*, void* self, const void** buffer) {
  auto* walker = static_cast<TarWalker*>(self);
  try {
    auto block = walker->source_();
    *buffer = block.data();
    return static_cast<long>(block.size());
  } catch (...) {
    // libarchive is C: park the exception and report a read error.
    walker->source_error_ = std::current_exception();
    return -1;
  }
}

std::optional<TarEntry> TarWalker::next(const Inspect& inspect, const DataRead& data_read) {
  archive_entry* raw = nullptr;
  int rc = archive_read_next_header(archive_, &raw);
  if (source_error_) std::rethrow_exception(source_error_);
  if (rc == ARCHIVE_EOF) return std::nullopt;
  // ARCHIVE_RETRY (a header with a bad checksum) is damage too, not a member.
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
    const char* message = archive_error_string(archive_);
    throw Error(std::string("tar stream is damaged: ") + (message ? message : "unreadable header"), Exit::refused);
  }
  TarEntry entry;
  const char* path = archive_entry_pathname(raw);
  entry.path = path ? path : "";
  entry.size = archive_entry_size(raw);
  entry.sparse = archive_entry_sparse_count(raw) > 0;
  entry.mode = static_cast<std::uint32_t>(archive_entry_perm(raw));
  entry.uid = static_cast<std::uint64_t>(archive_entry_uid(raw));
  entry.gid = static_cast<std::uint64_t>(archive_entry_gid(raw));
  entry.mtime = archive_entry_mtime(raw);
  entry.mtime_nsec = static_cast<std::uint32_t>(archive_entry_mtime_nsec(raw));
  if (const char* link = archive_entry_hardlink(raw)) {
    entry.type = TarEntry::Type::hardlink;
    entry.target = link;
  } else {
    switch (archive_entry_filetype(raw)) {
      case AE_IFREG: entry.type = TarEntry::Type::file; break;
      case AE_IFDIR: entry.type = TarEntry::Type::directory; break;
      case AE_IFLNK:
        entry.type = TarEntry::Type::symlink;
        entry.target = archive_entry_symlink(raw) ? archive_entry_symlink(raw) : "";
        break;
      case AE_IFIFO: entry.type = TarEntry::Type::fifo; break;
      case AE_IFCHR:
      case AE_IFBLK: entry.type = TarEntry::Type::device; break;
      case AE_IFSOCK: entry.type = TarEntry::Type::socket; break;
      default: entry.type = TarEntry::Type::other;
    }
  }
  if (inspect) inspect(entry, consumed());
  skip_data(entry, data_read);
  return entry;
}

// Walks past the data now so a truncated body is reported for this member.
// A sparse member's is read block by block, each followed by data_read: the
// parser consumes a block once the next one is asked for, and the padding
// before it reports the end, so `consumed()` never reaches past the member.
void TarWalker::skip_data(const TarEntry& entry, const DataRead& data_read) {
  if (!entry.sparse || !data_read) {
    if (archive_read_data_skip(archive_) < ARCHIVE_WARN) throw_damaged(entry);
    if (source_error_) std::rethrow_exception(source_error_);
    return;
  }
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(archive_, &block, &size, &offset);
    if (source_error_) std::rethrow_exception(source_error_);
    if (rc < ARCHIVE_WARN) throw_damaged(entry);
    data_read(consumed());
    if (rc == ARCHIVE_EOF) return;
  }
}

void TarWalker::throw_damaged(const TarEntry& entry) {
  if (source_error_) std::rethrow_exception(source_error_);
  const char* message = archive_error_string(archive_);
  throw Error("tar stream is damaged at " + entry.path + ": " + (message ? message : "truncated data"), Exit::refused);
}

std::int64_t TarWalker::consumed() const { return archive_filter_bytes(archive_, 0); }

std::string normalise_member_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

namespace {
bool has_dotdot(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}
}  // namespace

bool is_reserved_root_name(std::string_view path) { return names::is_reserved(path.substr(0, path.find('/'))); }

bool MemberSafety::through_symlink(const std::string& path) const {
  // Every proper prefix "a", "a/b" of "a/b/c".
  for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    if (symlinks_.count(path.substr(0, slash))) return true;
  }
  return false;
}

bool MemberSafety::under_symlink(const std::string& path) const {
  return symlinks_.count(path) > 0 || through_symlink(path);
}

std::string MemberSafety::check(const TarEntry& entry) {
  if (entry.path.empty()) return "member with an empty name";
  if (entry.path.front() == '/') return "absolute path " + entry.path;
  if (has_dotdot(entry.path)) return "path with '..' " + entry.path;
  if (entry.path.size() > 4096) return "path longer than 4096 bytes";
  std::string path = normalise_member_path(entry.path);
  if (path.empty() && entry.type != TarEntry::Type::directory) return "the volume root is not a folder";
  if (is_reserved_root_name(path)) return "member " + entry.path + " uses a name reserved for dockform's restore";
  if (!path.empty() && under_symlink(path)) return "member " + entry.path + " would be written through a symlink";
  if (entry.type == TarEntry::Type::hardlink) {
    if (entry.target.empty() || entry.target.front() == '/' || has_dotdot(entry.target)) {
      return "hardlink " + entry.path + " points outside the volume (" + entry.target + ")";
    }
    std::string target = normalise_member_path(entry.target);
    if (target.empty() || through_symlink(target)) return "hardlink " + entry.path + " points through a symlink";
    // Another name of a symlink: members under it go through the symlink.
    if (symlinks_.count(target)) symlinks_.insert(path);
  }
  if (entry.type == TarEntry::Type::symlink) symlinks_.insert(path);
  return "";
}

}  // namespace dockform::archive
