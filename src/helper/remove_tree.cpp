#include "remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "dockform/util/fd.hpp"
#include "report.hpp"

namespace dockform::helper {

using util::Fd;

namespace {

// Unlinking while reading a folder may make some file systems skip names,
// and a folder may fill up again while we work: a folder is listed until a
// listing finds nothing, but not forever.
constexpr int kMaxListings = 4;

// One folder on the way down from `parent` to where the walk is.
struct Level {
  std::string name;  // in the folder above; empty for `parent` itself
  dev_t dev = 0;
  ino_t ino = 0;
  std::vector<std::string> subfolders;  // still to remove
  int listings = 0;
};

class Remover {
 public:
  bool run(int parent, const std::string& name);

 private:
  bool push(Fd fd, const std::string& name);
  bool descend(const std::string& name);
  bool ascend();
  // Unlinks what is not a folder, queues the folders; -1 on failure.
  long list_current();
  bool fail(std::string_view name, int error);

  std::vector<Level> levels_;
  Fd current_;  // open on levels_.back()
};

bool Remover::run(int parent, const std::string& name) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT || fail(name, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return ::unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT || fail(name, errno);
  }
  Fd top(::fcntl(parent, F_DUPFD_CLOEXEC, 0));
  if (!top.valid() || !push(std::move(top), {})) return fail({}, errno);
  levels_.back().subfolders.push_back(name);
  levels_.back().listings = kMaxListings;  // `parent` itself is not emptied
  while (levels_.size() > 1 || !levels_.back().subfolders.empty()) {
    Level& level = levels_.back();
    if (!level.subfolders.empty()) {
      std::string next = std::move(level.subfolders.back());
      level.subfolders.pop_back();
      if (!descend(next)) return false;
      continue;
    }
    if (level.listings < kMaxListings) {
      long found = list_current();
      if (found < 0) return false;
      if (found > 0) continue;
    }
    if (!ascend()) return false;
  }
  return true;
}

bool Remover::push(Fd fd, const std::string& name) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return false;
  levels_.push_back(Level{name, st.st_dev, st.st_ino, {}, 0});
  current_ = std::move(fd);
  return true;
}

bool Remover::descend(const std::string& name) {
  Fd child(::openat(current_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!child.valid()) {
    if (errno == ENOENT) return true;  // gone already
    // Replaced by a symlink or a file since it was listed: remove that.
    if (errno == ENOTDIR || errno == ELOOP) {
      return ::unlinkat(current_.get(), name.c_str(), 0) == 0 || errno == ENOENT || fail(name, errno);
    }
    return fail(name, errno);
  }
  return push(std::move(child), name) || fail(name, errno);
}

// Back to the folder above, then removes the (now empty) one we left.
bool Remover::ascend() {
  Level& below = levels_[levels_.size() - 2];
  Fd up(::openat(current_.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st {};
  if (!up.valid() || ::fstat(up.get(), &st) != 0) return fail({}, errno);
  // The folder was moved while we worked in it: ".." is not where we came
  // from, and going on could remove things outside the tree.
  if (st.st_dev != below.dev || st.st_ino != below.ino) return fail({}, EXDEV);
  std::string name = std::move(levels_.back().name);
  levels_.pop_back();
  current_ = std::move(up);
  return ::unlinkat(current_.get(), name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT || fail(name, errno);
}

long Remover::list_current() {
  Level& level = levels_.back();
  ++level.listings;
  int dup_fd = ::fcntl(current_.get(), F_DUPFD_CLOEXEC, 0);
  DIR* dir = dup_fd < 0 ? nullptr : ::fdopendir(dup_fd);
  if (dir == nullptr) {
    int error = errno;
    if (dup_fd >= 0) ::close(dup_fd);
    fail({}, error);
    return -1;
  }
  ::rewinddir(dir);
  long found = 0;
  int error = 0;
  errno = 0;
  while (dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    ++found;
    bool folder = d->d_type == DT_DIR;
    if (d->d_type == DT_UNKNOWN) {
      struct stat st {};
      folder = ::fstatat(current_.get(), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (folder) {
      level.subfolders.emplace_back(name);
    } else if (::unlinkat(current_.get(), d->d_name, 0) != 0 && errno != ENOENT) {
      if (errno != EISDIR) {
        error = errno;
        fail(name, error);
        break;
      }
      level.subfolders.emplace_back(name);  // became a folder since readdir
    }
    errno = 0;
  }
  if (error == 0 && errno != 0) error = errno, fail({}, error);
  ::closedir(dir);
  return error == 0 ? found : -1;
}

// The failing path below `parent`, for the report.
bool Remover::fail(std::string_view name, int error) {
  std::string path;
  for (const auto& level : levels_) {
    if (level.name.empty()) continue;
    if (!path.empty()) path += '/';
    path += level.name;
  }
  if (!name.empty()) {
    if (!path.empty()) path += '/';
    path += name;
  }
  report("error", "remove", path, std::strerror(error));
  return false;
}

}  // namespace

bool remove_tree(int parent, const std::string& name) { return Remover().run(parent, name); }

}  // namespace dockform::helper
