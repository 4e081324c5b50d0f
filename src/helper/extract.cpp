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
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "dockform/util/fd.hpp"
#include "dockform/util/names.hpp"
#include "dockform/util/subtree.hpp"
#include "handles.hpp"
#include "metadata.hpp"
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

// The destination folder itself: "", ".", "./" and "." components repeated
// ("././", ".//."). Not "..." or ".../", which are names like any other.
bool is_root(std::string_view path) {
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") return false;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return true;
}

// A restore's staging folder: its parent is the volume root.
bool is_staging(std::string_view dest) {
  while (dest.size() > 1 && dest.back() == '/') dest.remove_suffix(1);
  std::string_view name = dest.substr(dest.rfind('/') + 1);
  return name.starts_with(names::kStagingPrefix) && names::is_reserved(name);
}

constexpr std::string_view kCapabilityXattr = "security.capability";

// Removes the extended attribute `name` from `entry`; false when it had none.
bool drop_xattr(archive_entry* entry, std::string_view name) {
  std::vector<std::pair<std::string, std::string>> kept;
  bool found = false;
  archive_entry_xattr_reset(entry);
  const char* key = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
    if (key != nullptr && name == key) {
      found = true;
    } else {
      std::string bytes = value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size);
      kept.emplace_back(key == nullptr ? "" : key, std::move(bytes));
    }
  }
  if (!found) return false;
  archive_entry_xattr_clear(entry);
  for (const auto& [k, v] : kept) archive_entry_xattr_add_entry(entry, k.c_str(), v.data(), v.size());
  return true;
}

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
  Extractor(archive* reader, const ExtractOptions& options) : reader_(reader), options_(options) {}
  int run(const std::string& dest);

 private:
  bool extract_entry(archive_entry* entry);
  bool wanted(archive_entry* entry, const std::string& path, bool& ok);
  bool drop_privileges(archive_entry* entry, const std::string& path);
  void restore_root_mtime();
  bool keep_root_metadata(const std::string& dest);
  bool copy_data(const std::string& path);
  bool refuse(std::string_view path, std::string_view why) {
    report("error", "unsafe_path", path, why);
    return false;
  }

  archive* reader_;
  const ExtractOptions& options_;
  WriteArchive disk_;
  uint64_t entries_ = 0;
  bool failed_ = false;
  bool root_seen_ = false;
  std::optional<timespec> root_mtime_;
  // Device nodes skipped for --no-privileged-bits: hard links to them are too.
  std::set<std::string> skipped_devices_;
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
  // A partial restore leaves the root alone: the staging folder's own metadata is not used.
  if (ok && !root_seen_ && options_.only.empty() && is_staging(dest) && !keep_root_metadata(dest)) ok = false;
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
  if (bool ok = true; !wanted(entry, path, ok)) return ok;
  if (options_.no_privileged_bits && !drop_privileges(entry, path)) return true;
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
  if (is_root(path)) {
    root_seen_ = true;
    if (archive_entry_mtime_is_set(entry)) {
      root_mtime_ = timespec{archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
    }
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

// With ExtractOptions::only: false for a member left out (`ok` false when
// the extraction must stop: a hard link to a file that is not restored).
bool Extractor::wanted(archive_entry* entry, const std::string& path, bool& ok) {
  if (options_.only.empty()) return true;
  auto pick = subtree::pick(subtree::normalise(path), options_.only);
  if (pick == subtree::Pick::ancestor) return archive_entry_filetype(entry) == AE_IFDIR;
  if (pick == subtree::Pick::skip) return false;
  const char* target = archive_entry_hardlink(entry);
  if (target != nullptr && subtree::pick(subtree::normalise(target), options_.only) != subtree::Pick::subtree) {
    report("error", "hardlink", path,
           "a hard link to " + std::string(target) + ", which is outside the restored paths (add it with --path)");
    ok = false;
    return false;
  }
  return true;
}

// --no-privileged-bits: what `entry` would grant beyond its owner's own
// rights is taken out of it, with a warning. False when the whole member is
// skipped (a device node).
bool Extractor::drop_privileges(archive_entry* entry, const std::string& path) {
  auto type = archive_entry_filetype(entry);
  if (type == AE_IFCHR || type == AE_IFBLK) {
    report("warning", "privileged", path, "device node not restored (--no-privileged-bits)");
    skipped_devices_.insert(path);
    return false;
  }
  const char* target = archive_entry_hardlink(entry);
  if (target != nullptr && skipped_devices_.count(target) != 0) {
    report("warning", "privileged", path, "hard link to a device node not restored (--no-privileged-bits)");
    return false;
  }
  auto perm = archive_entry_perm(entry);
  if (type != AE_IFDIR && (perm & (S_ISUID | S_ISGID)) != 0) {
    archive_entry_set_perm(entry, perm & ~static_cast<mode_t>(S_ISUID | S_ISGID));
    report("warning", "privileged", path, "setuid/setgid bits not restored (--no-privileged-bits)");
  }
  if (drop_xattr(entry, kCapabilityXattr)) {
    report("warning", "privileged", path, "file capabilities not restored (--no-privileged-bits)");
  }
  return true;
}

// An archive without a root member (`tar -C dir -cf - a b`) says nothing
// about the root: the staging folder (the current folder) takes the volume
// root's own owner, mode, xattrs and ACLs, which the swap then copies back.
// Its times stay those of the extraction: the root's content did change.
bool Extractor::keep_root_metadata(const std::string& dest) {
  util::Fd root(::open("..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  util::Fd staging(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st {};
  if (!root.valid() || !staging.valid() || ::fstat(root.get(), &st) != 0) {
    report("error", "root", dest + "/..", std::strerror(errno));
    return false;
  }
  copy_folder_attributes(root.get(), st, staging.get(), dest);
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

int extract(archive* reader, const std::string& dest, const ExtractOptions& options) {
  return Extractor(reader, options).run(dest);
}

int extract_stdin(const std::string& dest, const ExtractOptions& options) {
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
  return extract(reader.get(), dest, options);
}

}  // namespace dockform::helper
