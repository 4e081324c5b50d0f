#include "channel.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "dockform/util/fd.hpp"
#include "dockform/util/unix_socket.hpp"
#include "report.hpp"

namespace dockform::helper {

namespace {
bool fail(const std::string& what) {
  report("error", "no-channel", {}, what + ": " + std::strerror(errno));
  return false;
}

// The token dockform wrote: 16 to 128 bytes of [0-9a-f].
bool read_token(const std::string& path, std::string& token) {
  util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return fail("open " + path);
  char buffer[129];
  ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
  if (n < 16 || n > 128) {
    errno = EINVAL;
    return fail("read " + path);
  }
  token.assign(buffer, static_cast<std::size_t>(n));
  return true;
}

bool send_all(int fd, const std::string& text) {
  for (std::size_t sent = 0; sent < text.size();) {
    ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace

bool open_channel(const char* dir, int target_fd) {
  std::string token;
  if (!read_token(std::string(dir) + "/token", token)) return false;
  std::string path = std::string(dir) + "/socket";
  sockaddr_un address;
  if (!util::unix_address(path, address)) {
    errno = ENAMETOOLONG;
    return fail("socket " + path);
  }
  util::Fd socket_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket_fd.valid()) return fail("socket");
  if (::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return fail("connect " + path);
  }
  if (!send_all(socket_fd.get(), token + "\n")) return fail("send the token");
  // The write side ends when the helper exits (or closes stdout); the read side
  // is dockform's archive. dup2 leaves the copy without O_CLOEXEC.
  if (::dup2(socket_fd.get(), target_fd) < 0) return fail("dup2");
  return true;
}

}  // namespace dockform::helper
