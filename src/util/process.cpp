#include "dockform/util/process.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string_view>
#include <vector>

namespace dockform::util {

namespace {
// The inode of the initial PID namespace, fixed by the kernel (PROC_PID_INIT_INO).
constexpr const char* kInitialPidNamespace = "4026531836";

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The inode number in a namespace link ("pid:[4026531836]"); "" when it
// cannot be read (no such process, or no right to see its namespaces).
std::string namespace_of(const std::string& proc_entry, const char* kind) {
  std::error_code error;
  auto target = std::filesystem::read_symlink("/proc/" + proc_entry + "/ns/" + kind, error).string();
  auto open = target.find('[');
  auto close = target.find(']');
  if (error || open == std::string::npos || close == std::string::npos || close <= open + 1) return "";
  return target.substr(open + 1, close - open - 1);
}

// Fields of /proc/ENTRY/stat: the pid (1) and the start time (22); "?" when it cannot be read.
struct Stat {
  std::string pid = "?";
  std::string start = "?";
};
Stat stat_of(const std::string& proc_entry) {
  Stat result;
  std::string stat = read_first_line("/proc/" + proc_entry + "/stat");
  auto space = stat.find(' ');
  // The fields after the command name count from the ")" that ends it.
  auto close = stat.rfind(')');
  if (space == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return result;
  result.pid = stat.substr(0, space);
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) result.start = field;
  }
  return result;
}

// The pids of /proc/ENTRY in each PID namespace from /proc's own down to the
// process's ("NSpid:" of its status); empty when it cannot be read.
std::vector<long> namespace_pids(const std::string& proc_entry) {
  std::ifstream in("/proc/" + proc_entry + "/status");
  std::vector<long> pids;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    for (long pid = 0; fields >> pid;) pids.push_back(pid);
  }
  return pids;
}

// /proc shows this process's own PID namespace (not one mounted from another,
// as after `unshare --pid --fork` without --mount-proc): its pids are ours.
bool proc_is_ours() { return stat_of("self").pid == std::to_string(::getpid()); }

// Every process of the machine is in this /proc, with its namespaces readable.
bool sees_every_process() {
  return ::geteuid() == 0 && proc_is_ours() && namespace_of("self", "pid") == kInitialPidNamespace;
}

// Whether /proc/ENTRY may be `owner`, an owner of another PID namespace than
// ours or of one not written down. Its start time decides, unless it is in a
// namespace that shifts the boot clock (a time namespace), or its namespaces
// cannot be read: then it may be.
bool may_be(const std::string& proc_entry, const OwnerIdentity& owner) {
  auto pids = namespace_pids(proc_entry);
  if (pids.empty() || pids.back() != owner.pid) return false;
  // One pid: the process is in /proc's namespace, which is ours.
  bool ours = pids.size() == 1;
  if (ours && !owner.pid_namespace.empty()) return false;
  if (!ours) {
    std::string pid_namespace = namespace_of(proc_entry, "pid");
    if (pid_namespace.empty()) return true;
    if (!owner.pid_namespace.empty() && pid_namespace != owner.pid_namespace) return false;
  }
  if (stat_of(proc_entry).start == owner.start) return true;
  return namespace_of(proc_entry, "time") != namespace_of("self", "time");
}

// Whether any process of the machine may be `owner` (sees_every_process).
bool runs_anywhere(const OwnerIdentity& owner) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    if (may_be(name, owner)) return true;
  }
  return static_cast<bool>(error);  // a scan cut short proves nothing
}
}  // namespace

std::string boot_id() { return read_first_line("/proc/sys/kernel/random/boot_id"); }

std::string random_id(std::size_t length) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr std::string_view chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out.push_back(chars[rng() % chars.size()]);
  return out;
}

std::optional<OwnerIdentity> parse_owner(const std::string& owner) {
  std::vector<std::string> fields;
  std::istringstream in(owner);
  for (std::string field; std::getline(in, field, ':');) fields.push_back(field);
  if (!owner.empty() && owner.back() == ':') fields.emplace_back();
  if (fields.size() != 3 && fields.size() != 4) return std::nullopt;
  OwnerIdentity identity;
  identity.boot_id = fields[0];
  char* end = nullptr;
  identity.pid = std::strtol(fields[1].c_str(), &end, 10);
  if (fields[1].empty() || *end != '\0' || identity.pid <= 0 || fields[0].empty() || fields[2].empty()) {
    return std::nullopt;
  }
  identity.start = fields[2];
  if (fields.size() == 4) {
    if (fields[3].empty()) return std::nullopt;
    identity.pid_namespace = fields[3];
  }
  return identity;
}

std::string my_owner_identity() {
  // /proc/self is this process whichever namespace /proc was mounted for.
  static const std::string identity = [] {
    std::string text = boot_id() + ":" + std::to_string(::getpid()) + ":" + stat_of("self").start;
    std::string pid_namespace = namespace_of("self", "pid");
    return pid_namespace.empty() ? text : text + ":" + pid_namespace;
  }();
  return identity;
}

bool owner_is_gone(const std::string& owner) {
  auto identity = parse_owner(owner);
  if (!identity || identity->boot_id != boot_id()) return false;
  if (!identity->pid_namespace.empty() && identity->pid_namespace == namespace_of("self", "pid") && proc_is_ours()) {
    return stat_of(std::to_string(identity->pid)).start != identity->start;
  }
  // Another namespace, or one not written down: its pid means nothing in our
  // /proc. Only a reader that sees every process can look for it.
  return sees_every_process() && !runs_anywhere(*identity);
}

}  // namespace dockform::util
