// `create`: the volume as a deterministic pax stream on stdout.
//
// The walk is ours, not archive_read_disk's: libarchive lists folders in
// readdir order, and two snapshots of an unchanged volume must be
// byte-identical. libarchive still reads each entry's metadata
// (archive_read_disk_entry_from_file: xattrs, ACLs, sparse map) and writes
// the pax headers.
#include "create.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "dir.hpp"
#include "dockform/util/fd.hpp"
#include "handles.hpp"
#include "previous.hpp"
#include "report.hpp"

namespace dockform::helper {

using util::Fd;

namespace {

// Output block size: the consumer (dockform's zstd stage) then sees few,
// large reads.
constexpr int kBlockBytes = 1 << 20;
constexpr size_t kCopyBytes = 1 << 20;

std::string errno_text(int error) { return std::strerror(error); }

// An entry's headers: the ustar block, and a pax header block with its
// records where ustar cannot say it (a time with nanoseconds, a long path;
// xattrs and ACLs are not looked at).
uint64_t header_estimate(const struct stat& st, const std::string& path) {
  bool pax = st.st_mtim.tv_nsec != 0 || path.size() + 2 > 100;
  return pax ? 1536 : 512;
}

// About the bytes the tar of the folder open at `dir_fd` will take: what is
// excluded is left out, contents are rounded up to 512-byte blocks, a hard
// link counts at its full size. Unreadable parts count as nothing: this is
// for an ETA, the walk itself reports them.
uint64_t estimate_bytes(int dir_fd, const std::string& relative, const Excludes& excludes) {
  std::vector<std::string> names;
  if (list_dir(dir_fd, names) != 0) return 0;
  uint64_t total = 0;
  for (const auto& name : names) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string path = relative.empty() ? name : relative + "/" + name;
    if (excludes.excluded(path, S_ISDIR(st.st_mode))) continue;
    total += header_estimate(st, path);
    if (S_ISREG(st.st_mode)) total += (static_cast<uint64_t>(st.st_size) + 511) / 512 * 512;
    if (!S_ISDIR(st.st_mode)) continue;
    Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.valid()) total += estimate_bytes(fd.get(), path, excludes);
  }
  return total;
}

class Creator {
 public:
  explicit Creator(const CreateOptions& options) : options_(options), buffer_(kCopyBytes) {}
  int run(const std::string& root);

 private:
  bool load_previous();
  void walk(int dir_fd, const std::string& relative);
  void add_child(int dir_fd, const std::string& name, const std::string& relative);
  // Adds one entry; `fd` is open on it (file or folder) or -1, and the
  // current folder holds it under `name` (libarchive reads xattrs and the
  // default ACL by path). Returns false when the entry was skipped.
  bool add_entry(int dir_fd, const std::string& name, const std::string& archive_path, int fd, const struct stat& st);
  Entry read_entry(int dir_fd, const std::string& name, const std::string& archive_path, int fd, const struct stat& st);
  void linkify(Entry& entry);
  // The entry's previous member number when --previous says it is unchanged.
  std::optional<uint64_t> unchanged(archive_entry* entry, const std::string& archive_path, const struct stat& st) const;
  bool skip_unchanged(uint64_t number, const struct stat& st);
  bool write_marker(std::optional<Run> run);
  bool write_header(archive_entry* entry, const std::string& archive_path);
  void count_member(const struct stat& st);
  void copy_data(int fd, archive_entry* entry, const std::string& path);
  bool write_zeros(int64_t count);
  bool write_bytes(const char* data, size_t size);
  void fail(std::string_view kind, std::string_view path, std::string_view message) {
    report("error", kind, path, message);
    failed_ = true;
  }

  const CreateOptions& options_;
  std::optional<Previous> previous_;
  Runs runs_;
  std::optional<StatLines> stat_lines_;
  ReadArchive disk_;
  WriteArchive out_;
  LinkResolver links_;
  std::vector<char> buffer_;
  uint64_t entries_ = 0;  // members: with --previous, the unchanged ones too
  uint64_t unchanged_ = 0;
  bool failed_ = false;
  bool fatal_ = false;  // the output is broken: stop walking
};

int Creator::run(const std::string& root) {
  disk_.reset(archive_read_disk_new());
  out_.reset(archive_write_new());
  links_.reset(archive_entry_linkresolver_new());
  if (!disk_ || !out_ || !links_) {
    report("error", "internal", {}, "out of memory");
    return 1;
  }
  // Physical walk; fflags (chattr) are left out like GNU tar does. No
  // uname/gname lookup: the image has no /etc/passwd, owners are numeric.
  archive_read_disk_set_symlink_physical(disk_.get());
  archive_read_disk_set_behavior(disk_.get(), ARCHIVE_READDISK_NO_FFLAGS);
  archive_entry_linkresolver_set_strategy(links_.get(), ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);

  // Opened first: a missing root must not leave an empty archive on stdout.
  Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st {};
  if (!root_fd.valid() || ::fstat(root_fd.get(), &st) != 0) {
    report("error", "root", root, errno_text(errno));
    return 1;
  }
  if (options_.previous && !load_previous()) return 1;
  if (options_.stat) stat_lines_.emplace();

  archive_write_set_format_pax(out_.get());
  // Xattrs once, as GNU tar writes them (not also as LIBARCHIVE.xattr).
  archive_write_set_format_option(out_.get(), "pax", "xattrheader", "SCHILY");
  archive_write_set_bytes_per_block(out_.get(), kBlockBytes);
  // The stream ends right after the end-of-archive blocks, not at a 1 MiB boundary.
  archive_write_set_bytes_in_last_block(out_.get(), 1);
  // A bigger pipe lets the reader take more per call; best effort.
  ::fcntl(1, F_SETPIPE_SZ, kBlockBytes);
  if (archive_write_open_fd(out_.get(), 1) != ARCHIVE_OK) {
    report("error", "write", {}, error_of(out_.get()));
    return 1;
  }
  // The root's entry, the rest, and the two zero blocks at the end.
  if (options_.estimate) {
    report_estimate(header_estimate(st, ".") + estimate_bytes(root_fd.get(), "", options_.excludes) + 1024);
  }
  if (add_entry(root_fd.get(), ".", ".", root_fd.get(), st)) walk(root_fd.get(), "");

  if (!fatal_) write_marker(runs_.take());
  if (!fatal_ && archive_write_close(out_.get()) != ARCHIVE_OK) {
    fail("write", {}, error_of(out_.get()));
  }
  if (stat_lines_) stat_lines_->flush();
  std::optional<uint64_t> unchanged;
  if (previous_) unchanged = unchanged_;
  report_done(entries_, static_cast<uint64_t>(archive_filter_bytes(out_.get(), -1)), unchanged);
  return failed_ ? 1 : 0;
}

// Before anything is written: a malformed file must leave no stream behind.
bool Creator::load_previous() {
  previous_.emplace();
  std::string error;
  if (previous_->load(*options_.previous, error)) return true;
  report("error", "previous", {}, error);
  return false;
}

void Creator::walk(int dir_fd, const std::string& relative) {
  std::vector<std::string> names;
  if (int error = list_dir(dir_fd, names); error != 0) {
    fail("read_dir", relative.empty() ? "./" : "./" + relative, errno_text(error));
    return;
  }
  for (const auto& name : names) {
    if (fatal_) return;
    add_child(dir_fd, name, relative.empty() ? name : relative + "/" + name);
  }
}

void Creator::add_child(int dir_fd, const std::string& name, const std::string& relative) {
  std::string path = "./" + relative;
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      report("warning", "vanished", path);
    } else {
      fail("stat", path, errno_text(errno));
    }
    return;
  }
  if (options_.excludes.excluded(relative, S_ISDIR(st.st_mode))) return;
  if (S_ISSOCK(st.st_mode)) {
    report("warning", "socket", path, "sockets cannot be archived; skipped");
    return;
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    add_entry(dir_fd, name, path, -1, st);
    return;
  }
  // Files and folders are opened, and the open descriptor is what gets
  // described: the name may have been replaced since fstatat.
  int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  if (S_ISDIR(st.st_mode)) flags |= O_DIRECTORY;
  Fd fd(::openat(dir_fd, name.c_str(), flags));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      report("warning", "vanished", path);
    } else {
      fail("open", path, errno_text(errno));
    }
    return;
  }
  struct stat opened {};
  if (::fstat(fd.get(), &opened) != 0 || (opened.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
    report("warning", "vanished", path, "replaced while read");
    return;
  }
  if (add_entry(dir_fd, name, path, fd.get(), opened) && S_ISDIR(opened.st_mode)) walk(fd.get(), relative);
}

bool Creator::add_entry(int dir_fd, const std::string& name, const std::string& archive_path, int fd,
                        const struct stat& st) {
  Entry entry = read_entry(dir_fd, name, archive_path, fd, st);
  if (!entry) return false;
  // Also for an unchanged member: later hard links must name the same
  // first path as in a full run.
  linkify(entry);
  bool is_hardlink = archive_entry_hardlink(entry.get()) != nullptr;
  if (is_hardlink) archive_entry_sparse_clear(entry.get());
  if (auto number = unchanged(entry.get(), archive_path, st)) return skip_unchanged(*number, st);

  if (!write_marker(runs_.take()) || !write_header(entry.get(), archive_path)) return false;
  count_member(st);
  if (S_ISREG(st.st_mode) && !is_hardlink && archive_entry_size(entry.get()) > 0) {
    copy_data(fd, entry.get(), archive_path);
  }
  return !fatal_;
}

// The entry with its metadata, or null when it cannot be archived.
Entry Creator::read_entry(int dir_fd, const std::string& name, const std::string& archive_path, int fd,
                          const struct stat& st) {
  Entry entry(archive_entry_new2(disk_.get()));
  archive_entry_copy_pathname(entry.get(), archive_path.c_str());
  archive_entry_copy_sourcepath(entry.get(), name.c_str());
  if (::fchdir(dir_fd) != 0) {
    fail("read_dir", archive_path, errno_text(errno));
    return nullptr;
  }
  int r = archive_read_disk_entry_from_file(disk_.get(), entry.get(), fd, &st);
  if (r == ARCHIVE_WARN) {
    report("warning", "metadata", archive_path, error_of(disk_.get()));
  } else if (r != ARCHIVE_OK) {
    fail("metadata", archive_path, error_of(disk_.get()));
    return nullptr;
  }
  // Access and change times differ on every read: they would make two
  // snapshots of an unchanged volume differ.
  archive_entry_unset_atime(entry.get());
  archive_entry_unset_ctime(entry.get());
  archive_entry_unset_birthtime(entry.get());
  return entry;
}

void Creator::linkify(Entry& entry) {
  archive_entry* linked = entry.release();
  archive_entry* spare = nullptr;
  archive_entry_linkify(links_.get(), &linked, &spare);
  entry.reset(linked);
  Entry spare_owner(spare);  // the tar strategy never defers, but own it anyway
}

std::optional<uint64_t> Creator::unchanged(archive_entry* entry, const std::string& archive_path,
                                           const struct stat& st) const {
  if (!previous_) return {};
  return previous_->unchanged(normalised(archive_path), st, archive_entry_hardlink(entry));
}

// Nothing of the member goes out: a marker will stand for its run.
bool Creator::skip_unchanged(uint64_t number, const struct stat& st) {
  if (!write_marker(runs_.add(number))) return false;
  count_member(st);
  ++unchanged_;
  return true;
}

bool Creator::write_marker(std::optional<Run> run) {
  if (!run) return true;
  Entry marker = marker_entry(options_.marker, *run);
  if (!marker) {
    fail("internal", {}, "out of memory");
    fatal_ = true;
    return false;
  }
  return write_header(marker.get(), archive_entry_pathname(marker.get()));
}

bool Creator::write_header(archive_entry* entry, const std::string& archive_path) {
  int r = archive_write_header(out_.get(), entry);
  if (r == ARCHIVE_FATAL) {
    fail("write", archive_path, error_of(out_.get()));
    fatal_ = true;
    return false;
  }
  if (r == ARCHIVE_FAILED) {
    fail("unsupported", archive_path, error_of(out_.get()));
    return false;
  }
  // In the C locale libarchive cannot convert a non-ASCII name to UTF-8: it
  // stores it byte for byte (hdrcharset=BINARY), which is what we want.
  if (r == ARCHIVE_WARN) {
    std::string message = error_of(out_.get());
    if (message.find("Can't translate") == std::string_view::npos) report("warning", "write", archive_path, message);
  }
  return true;
}

void Creator::count_member(const struct stat& st) {
  ++entries_;
  if (stat_lines_) stat_lines_->add(st);
}

// Sends the file's logical content [0, size): holes as zeros (the pax
// writer drops the bytes of holes it announced in the sparse map), data by
// pread. The header is already out, so the size is fixed: a file that
// shrank is padded with zeros, one that grew is cut.
void Creator::copy_data(int fd, archive_entry* entry, const std::string& path) {
  const int64_t size = archive_entry_size(entry);
  std::vector<std::pair<int64_t, int64_t>> extents;
  if (archive_entry_sparse_reset(entry) > 0) {
    la_int64_t offset = 0, length = 0;
    while (archive_entry_sparse_next(entry, &offset, &length) == ARCHIVE_OK) extents.emplace_back(offset, length);
  } else {
    extents.emplace_back(0, size);
  }
  int64_t position = 0;
  bool shrank = false;
  for (auto [offset, length] : extents) {
    int64_t end = std::min(offset + length, size);
    if (offset < position || end < offset) continue;
    if (!write_zeros(offset - position)) return;
    position = offset;
    while (position < end && !shrank) {
      size_t want = static_cast<size_t>(std::min<int64_t>(end - position, static_cast<int64_t>(buffer_.size())));
      ssize_t n = ::pread(fd, buffer_.data(), want, position);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        fail("read", path, errno_text(errno) + "; the rest of the file is stored as zeros");
        shrank = true;
        break;
      }
      if (n == 0) {
        shrank = true;
        break;
      }
      if (!write_bytes(buffer_.data(), static_cast<size_t>(n))) return;
      position += n;
    }
  }
  if (!write_zeros(size - position)) return;
  struct stat now {};
  if (shrank) {
    report("warning", "shrank", path, "file shrank while read; padded with zeros");
  } else if (::fstat(fd, &now) == 0 && now.st_size > size) {
    report("warning", "grew", path, "file grew while read; cut at the size first seen");
  }
}

bool Creator::write_zeros(int64_t count) {
  static const std::array<char, 1 << 16> zeros{};
  while (count > 0) {
    size_t n = static_cast<size_t>(std::min<int64_t>(count, static_cast<int64_t>(zeros.size())));
    if (!write_bytes(zeros.data(), n)) return false;
    count -= static_cast<int64_t>(n);
  }
  return true;
}

bool Creator::write_bytes(const char* data, size_t size) {
  // The pax writer accepts fewer bytes than offered only past the entry's
  // end, which copy_data never asks for.
  if (archive_write_data(out_.get(), data, size) < 0) {
    fail("write", {}, error_of(out_.get()));
    fatal_ = true;
    return false;
  }
  return true;
}

// Deep trees hold one descriptor per level.
void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int create(const std::string& root, const CreateOptions& options) {
  raise_fd_limit();
  // A consumer that goes away is a write error we report, not a silent death.
  ::signal(SIGPIPE, SIG_IGN);
  Creator creator(options);
  return creator.run(root);
}

}  // namespace dockform::helper
