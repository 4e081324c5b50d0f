#include "lease.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "report.hpp"

namespace dockform::helper {

int lease_command(int seconds) {
  using Clock = std::chrono::steady_clock;
  const auto lease = std::chrono::seconds(seconds);
  auto deadline = Clock::now() + lease;
  char buffer[512];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd in{0, POLLIN, 0};
    int ready = ::poll(&in, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      report("error", "lease", {}, std::string("poll: ") + std::strerror(errno));
      return 1;
    }
    if (ready == 0) continue;  // the loop's head sees the deadline passed
    // POLLHUP without data also lands here: read() then reports the end.
    ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      report("error", "lease", {}, std::string("read: ") + std::strerror(errno));
      return 1;
    }
    if (n == 0) return 0;  // dockform released the lease (or is gone)
    deadline = Clock::now() + lease;
  }
  report("info", "lease", {}, "no heartbeat for " + std::to_string(seconds) + " s: the lease expired");
  return 0;
}

}  // namespace dockform::helper
