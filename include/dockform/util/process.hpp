#pragma once
// Who owns a leftover (helper container, lock, temporary file): a process
// identified by the machine's boot id, its pid, its start time and its PID
// namespace, so that a reused pid is never mistaken for the owner, and a pid
// of another namespace (dockform in a container next to dockform on the host)
// is never looked up in the wrong /proc.
#include <cstddef>
#include <optional>
#include <string>

namespace dockform::util {

// An owner as written in labels and temporary files' names:
// "<boot id>:<pid>:<start time>:<PID namespace>", the start time in clock
// ticks after boot, the namespace the inode number of /proc/PID/ns/pid.
// Earlier versions wrote the first three fields only: `pid_namespace`
// is then empty (unknown).
struct OwnerIdentity {
  std::string boot_id;
  long pid = 0;
  std::string start;
  std::string pid_namespace;
};

// The identity in `owner`; nullopt when it has neither 3 nor 4 fields or no
// positive pid.
std::optional<OwnerIdentity> parse_owner(const std::string& owner);

// This machine's current boot id (/proc/sys/kernel/random/boot_id).
std::string boot_id();

// `length` random characters of [a-z0-9], for names that only need to differ
// from another run's (temporary files, staging folders), not to be secret.
std::string random_id(std::size_t length);

// This process's identity, as parse_owner reads it.
std::string my_owner_identity();

// True only when `owner` provably no longer runs: a process of this machine's
// current boot that is gone from its PID namespace. Owners on other machines,
// and owners in another PID namespace (or written without one) that this
// process cannot see, are never taken for gone: only a reader in the initial
// PID namespace with root rights sees every process of the machine.
bool owner_is_gone(const std::string& owner);

}  // namespace dockform::util
