#pragma once
// Who owns a leftover (helper container, lock, temporary file): a process
// identified by the machine's boot id, its pid and its start time, so that a
// reused pid is never mistaken for the owner.
#include <string>

namespace dockform::util {

// "<boot id>:<pid>:<start time>" of this process.
std::string my_owner_identity();

// True only when `owner` names a process of this machine's current boot that
// no longer runs. Owners on other machines are never taken for gone.
bool owner_is_gone(const std::string& owner);

}  // namespace dockform::util
