#include "dockform/util/process.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace dockform::util {

namespace {
std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string boot_id() { return read_first_line("/proc/sys/kernel/random/boot_id"); }

// "<boot id>:<pid>:<start>" of any pid; the start is "?" when it does not run.
std::string identity_of(long pid) {
  std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  // Field 22 (starttime) counts from after the ")" that ends the command name.
  std::string start = "?";
  auto close = stat.rfind(')');
  if (close != std::string::npos && close + 2 < stat.size()) {
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
      if (i == 22) start = field;
    }
  }
  return boot_id() + ":" + std::to_string(pid) + ":" + start;
}
}  // namespace

std::string my_owner_identity() {
  static const std::string identity = identity_of(static_cast<long>(::getpid()));
  return identity;
}

bool owner_is_gone(const std::string& owner) {
  auto first = owner.find(':');
  auto second = owner.find(':', first == std::string::npos ? first : first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  if (owner.substr(0, first) != boot_id()) return false;
  long pid = std::strtol(owner.c_str() + first + 1, nullptr, 10);
  if (pid <= 0) return false;
  return identity_of(pid) != owner;
}

}  // namespace dockform::util
