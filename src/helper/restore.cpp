#include "restore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dockform/util/fd.hpp"
#include "remove_tree.hpp"
#include "report.hpp"
#include "swap.hpp"

namespace dockform::helper {

namespace {

constexpr int kStagingFailed = 112;
// Commands are single words: a longer line is cut, not buffered.
constexpr size_t kMaxLineBytes = 256;

// The next line of stdin, blanks trimmed; false at its end (a last line
// without "\n" counts as the end, as for the shell's `read`). One byte per
// read: nothing past the line is taken from the pipe.
bool read_line(std::string& line) {
  line.clear();
  for (;;) {
    char c = 0;
    ssize_t n = ::read(0, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') break;
    if (line.size() < kMaxLineBytes) line += c;
  }
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!line.empty() && blank(line.back())) line.pop_back();
  size_t start = 0;
  while (start < line.size() && blank(line[start])) ++start;
  line.erase(0, start);
  return true;
}

bool clear_acl(int fd, const char* name) {
  return ::fremovexattr(fd, name) == 0 || errno == ENODATA || errno == ENOTSUP;
}

// A folder made in a root with a default ACL inherits it, and so would every
// entry extracted into it before libarchive sets the folder's own ACLs (it
// does that last): the staging folder starts without ACLs, mode 0700.
bool make_staging(const VolumeRoot& volume, const std::string& staging) {
  util::Fd fd;
  if (::mkdirat(volume.fd(), staging.c_str(), 0700) == 0) {
    fd = util::Fd(::openat(volume.fd(), staging.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd.valid() || !clear_acl(fd.get(), "system.posix_acl_default") ||
      !clear_acl(fd.get(), "system.posix_acl_access") || ::fchmod(fd.get(), 0700) != 0) {
    report("error", "staging", staging, std::strerror(errno));
    return false;
  }
  return true;
}

// The new content is live at phase 3; the old one is removed on the next
// line, once the volume's users run again (or by the next run).
int go(const VolumeRoot& volume, const std::string& id, const Paths& paths, bool flushed) {
  if (!flushed && !volume.flush()) return 1;
  if (!volume.check_staged(id, paths) || !volume.swap(id, paths)) return 1;
  say("live");
  std::string line;
  if (!read_line(line)) return 0;
  if (!volume.finish_swap(id, "3", paths)) return 1;
  say("swapped");
  return 0;
}

int serve(const VolumeRoot& volume, const std::string& id, const Paths& paths) {
  bool flushed = false;
  std::string line;
  while (read_line(line)) {
    if (line == "flush") {
      if (!volume.flush()) return 1;
      flushed = true;
      say("flushed");
    } else if (line == "go") {
      return go(volume, id, paths, flushed);
    } else {
      if (!remove_tree(volume.fd(), std::string(kStagingPrefix) + id)) return 1;
      say("abandoned");
      return 0;
    }
  }
  return 0;
}

}  // namespace

int restore_command(const std::string& root, const std::string& id, const Paths& paths) {
  VolumeRoot volume;
  if (!volume.open(root) || !volume.prepare() || !volume.check_parents(paths)) return 1;
  if (!make_staging(volume, std::string(kStagingPrefix) + id)) return kStagingFailed;
  say("ready");
  return serve(volume, id, paths);
}

}  // namespace dockform::helper
