// `extract`: a tar stream on stdin into a folder, with libarchive's
// archive_write_disk doing the restoring and its secure flags (plus checks
// of our own that name the offending path) guarding the folder's edge.
#include "extract.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include "handles.hpp"
#include "report.hpp"

namespace dockform::helper {

namespace {

constexpr size_t kReadBlockBytes = 1 << 20;

constexpr int kExtractFlags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                              ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

// Why `path` may not be written below the destination, or "" when it may.
std::string_view unsafe_reason(std::string_view path) {
  if (path.starts_with('/')) return "absolute path";
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (part == "..") return "path has a '..' component";
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return {};
}

// "." or "./": the destination folder itself.
bool is_root(std::string_view path) { return path.find_first_not_of("./") == std::string_view::npos; }

// The helper runs in the C locale (an empty image has no other), so
// libarchive cannot convert a UTF-8 pax name to "the current locale": it
// then keeps the name's bytes as they are, which is exactly what a restore
// wants. Its warning about it is noise.
bool is_charset_warning(std::string_view message) {
  return message.find("can't be converted from UTF-8 to current locale") != std::string_view::npos;
}

// A refusal by libarchive's ARCHIVE_EXTRACT_SECURE_* checks (libarchive
// 3.6.2 messages; a path or hard link target through a symlink is caught
// only there).
bool is_secure_check(std::string_view message) {
  for (std::string_view refusal : {"Cannot extract through symlink", "Cannot remove intervening symlink",
                                   "Path contains '..'", "Path is absolute"}) {
    if (message.starts_with(refusal)) return true;
  }
  return false;
}

std::string_view text(const char* s) { return s == nullptr ? std::string_view{} : std::string_view(s); }

class Extractor {
 public:
  explicit Extractor(archive* reader) : reader_(reader) {}
  int run(const std::string& dest);

 private:
  bool extract_entry(archive_entry* entry);
  void restore_root_mtime();
  bool copy_data(const std::string& path);
  bool refuse(std::string_view path, std::string_view why) {
    report("error", "unsafe_path", path, why);
    return false;
  }

  archive* reader_;
  WriteArchive disk_;
  uint64_t entries_ = 0;
  bool failed_ = false;
  std::optional<timespec> root_mtime_;
};

int Extractor::run(const std::string& dest) {
  if (::chdir(dest.c_str()) != 0) {
    report("error", "dest", dest, std::strerror(errno));
    return 1;
  }
  disk_.reset(archive_write_disk_new());
  if (!disk_) {
    report("error", "internal", {}, "out of memory");
    return 1;
  }
  // No user/group lookup: owners are the archive's numeric ids.
  archive_write_disk_set_options(disk_.get(), kExtractFlags);

  bool ok = true;
  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(reader_, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r == ARCHIVE_WARN && !is_charset_warning(error_of(reader_))) {
      report("warning", "read", text(entry ? archive_entry_pathname(entry) : nullptr), error_of(reader_));
    } else if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      report("error", "read", {}, error_of(reader_));
      ok = false;
      break;
    }
    if (!extract_entry(entry)) {
      ok = false;
      break;
    }
  }
  // Folder modes and mtimes are set here, after their content.
  if (archive_write_close(disk_.get()) != ARCHIVE_OK) {
    report("warning", "metadata", {}, error_of(disk_.get()));
  }
  restore_root_mtime();
  report_done(entries_, static_cast<uint64_t>(archive_filter_bytes(reader_, -1)));
  return ok && !failed_ ? 0 : 1;
}

// Returns false when the extraction must stop.
bool Extractor::extract_entry(archive_entry* entry) {
  const char* raw = archive_entry_pathname(entry);
  if (raw == nullptr || *raw == '\0') {
    report("error", "read", {}, "member without a name");
    return false;
  }
  std::string path = raw;
  if (auto why = unsafe_reason(path); !why.empty()) return refuse(path, why);
  if (const char* target = archive_entry_hardlink(entry)) {
    if (auto why = unsafe_reason(target); !why.empty()) {
      return refuse(path, "hard link target " + std::string(target) + ": " + std::string(why));
    }
  }
  int r = archive_write_header(disk_.get(), entry);
  if (r == ARCHIVE_FAILED || r == ARCHIVE_FATAL) {
    std::string message = error_of(disk_.get());
    if (is_secure_check(message)) return refuse(path, message);
    if (r == ARCHIVE_FATAL) {
      report("error", "write", path, message);
      return false;
    }
    // A device node where mknod is not allowed (an unprivileged container)
    // is expected: skip it with a warning. Anything else fails the run, but
    // the rest of the archive is still restored.
    auto type = archive_entry_filetype(entry);
    bool device = type == AE_IFCHR || type == AE_IFBLK;
    report(device ? "warning" : "error", "skipped", path, message);
    if (!device) failed_ = true;
    return true;
  }
  if (r == ARCHIVE_WARN) report("warning", "metadata", path, error_of(disk_.get()));
  if (is_root(path) && archive_entry_mtime_is_set(entry)) {
    root_mtime_ = timespec{archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
  }
  ++entries_;
  if (archive_entry_size(entry) > 0 && !copy_data(path)) return false;
  r = archive_write_finish_entry(disk_.get());
  if (r == ARCHIVE_WARN) {
    report("warning", "metadata", path, error_of(disk_.get()));
  } else if (r != ARCHIVE_OK) {
    report("error", "write", path, error_of(disk_.get()));
    return r != ARCHIVE_FATAL;
  }
  return true;
}

// libarchive defers the times of the folders it creates until their
// content is in, but sets those of a folder that already exists at once: the
// destination's own mtime would be the time of the extraction.
void Extractor::restore_root_mtime() {
  if (!root_mtime_) return;
  const timespec times[2] = {{0, UTIME_OMIT}, *root_mtime_};
  if (::utimensat(AT_FDCWD, ".", times, 0) != 0) report("warning", "metadata", "./", std::strerror(errno));
}

// Blocks carry their offset: the holes of a sparse member stay holes.
bool Extractor::copy_data(const std::string& path) {
  for (;;) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(reader_, &block, &size, &offset);
    if (r == ARCHIVE_EOF) return true;
    if (r == ARCHIVE_WARN) {
      report("warning", "read", path, error_of(reader_));
    } else if (r != ARCHIVE_OK) {
      report("error", "read", path, error_of(reader_));
      return false;
    }
    if (archive_write_data_block(disk_.get(), block, size, offset) < ARCHIVE_OK) {
      report("error", "write", path, error_of(disk_.get()));
      return false;
    }
  }
}

}  // namespace

archive* new_tar_reader() {
  archive* reader = archive_read_new();
  if (reader != nullptr) archive_read_support_format_tar(reader);
  return reader;
}

int extract(archive* reader, const std::string& dest) { return Extractor(reader).run(dest); }

int extract_stdin(const std::string& dest) {
  // Checked before the first read, so a wrong destination is named as such.
  struct stat st {};
  if (::stat(dest.c_str(), &st) != 0) {
    report("error", "dest", dest, std::strerror(errno));
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    report("error", "dest", dest, "not a folder");
    return 1;
  }
  ReadArchive reader(new_tar_reader());
  if (!reader) {
    report("error", "internal", {}, "out of memory");
    return 1;
  }
  if (archive_read_open_fd(reader.get(), 0, kReadBlockBytes) != ARCHIVE_OK) {
    report("error", "read", {}, error_of(reader.get()));
    return 1;
  }
  return extract(reader.get(), dest);
}

}  // namespace dockform::helper
