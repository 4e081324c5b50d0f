#include "dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dockform::helper {

int list_dir(int dir_fd, std::vector<std::string>& names) {
  // fdopendir takes the descriptor it is given: hand it a duplicate.
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return errno;
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    int error = errno;
    ::close(dup_fd);
    return error;
  }
  // The duplicate shares the file offset: start from the top even when the
  // folder was listed before through `dir_fd`.
  ::rewinddir(dir);
  errno = 0;
  while (dirent* d = ::readdir(dir)) {
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) names.emplace_back(d->d_name);
  }
  int error = errno;
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return error;
}

}  // namespace dockform::helper
