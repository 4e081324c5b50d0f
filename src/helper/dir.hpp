// Folder listings shared by the walk of `create` and the volume-root
// protocol (swap.cpp).
#pragma once

#include <string>
#include <vector>

namespace dockform::helper {

// Appends the names in the folder open on `dir_fd`, sorted byte-wise, "."
// and ".." left out; `dir_fd` stays open and usable. Returns 0 or an errno
// value.
int list_dir(int dir_fd, std::vector<std::string>& names);

}  // namespace dockform::helper
