#pragma once
// The address of a Unix socket at a path. Header-only: dockform-helper uses it
// too (it links none of the core).
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <string>

namespace dockform::util {

// False when `path` does not fit in sun_path with its terminating NUL.
inline bool unix_address(const std::string& path, sockaddr_un& address) {
  address = sockaddr_un{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace dockform::util
