#include "metadata.hpp"

#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "report.hpp"

namespace dockform::helper {

namespace {

void warn(std::string_view path, std::string_view what, int error) {
  report("warning", "metadata", path, std::string(what) + ": " + std::strerror(error));
}

// The names of the extended attributes of `fd`, or false.
bool xattr_names(int fd, std::vector<std::string>& names) {
  std::vector<char> buffer;
  for (;;) {
    ssize_t size = ::flistxattr(fd, nullptr, 0);
    if (size < 0) return false;
    buffer.resize(static_cast<size_t>(size));
    size = ::flistxattr(fd, buffer.data(), buffer.size());
    if (size < 0 && errno == ERANGE) continue;  // grew in between
    if (size < 0) return false;
    for (size_t at = 0; at < static_cast<size_t>(size);) {
      std::string name(buffer.data() + at);
      at += name.size() + 1;
      names.push_back(std::move(name));
    }
    return true;
  }
}

bool xattr_value(int fd, const std::string& name, std::vector<char>& value) {
  for (;;) {
    ssize_t size = ::fgetxattr(fd, name.c_str(), nullptr, 0);
    if (size < 0) return false;
    value.resize(static_cast<size_t>(size));
    size = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
    if (size < 0 && errno == ERANGE) continue;
    if (size < 0) return false;
    value.resize(static_cast<size_t>(size));
    return true;
  }
}

// Setting system.posix_acl_access and system.posix_acl_default as extended
// attributes is how libacl itself writes ACLs: the kernel checks and
// applies them, so no ACL parsing is needed here.
void copy_xattrs(int from, int to, std::string_view path) {
  std::vector<std::string> wanted, present;
  if (!xattr_names(from, wanted)) return warn(path, "listing the extended attributes to copy", errno);
  if (!xattr_names(to, present)) return warn(path, "listing the extended attributes to replace", errno);
  for (const auto& name : present) {
    if (std::find(wanted.begin(), wanted.end(), name) != wanted.end()) continue;
    if (::fremovexattr(to, name.c_str()) != 0 && errno != ENODATA) warn(path, "removing " + name, errno);
  }
  std::vector<char> value;
  for (const auto& name : wanted) {
    if (!xattr_value(from, name, value)) {
      warn(path, "reading " + name, errno);
    } else if (::fsetxattr(to, name.c_str(), value.data(), value.size(), 0) != 0) {
      warn(path, "setting " + name, errno);
    }
  }
}

}  // namespace

void copy_folder_attributes(int from, const struct stat& st, int to, std::string_view path) {
  if (::fchown(to, st.st_uid, st.st_gid) != 0) warn(path, "chown", errno);
  copy_xattrs(from, to, path);
  // After chown, which may clear setgid; ACLs and mode agree already (the
  // mode's group bits are the ACL mask in both).
  if (::fchmod(to, st.st_mode & 07777) != 0) warn(path, "chmod", errno);
}

void copy_folder_metadata(int from, const struct stat& st, int to) {
  copy_folder_attributes(from, st, to, "./");
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(to, times) != 0) warn("./", "times", errno);
}

}  // namespace dockform::helper
