// `rm -rf` for one name, for a process that must never leave the volume.
#pragma once

#include <string>

namespace dockform::helper {

// Removes `name` (no '/') in the folder open on `parent`, and everything
// below it when it is a folder. Symlinks are removed, never followed; the
// walk holds at most two descriptors whatever the depth, and climbs back
// with ".." only after checking it leads to the folder it came from. A name
// that does not exist is not an error. Reports the first failure as a JSON
// "remove" error (with its path below `parent`) and returns false.
bool remove_tree(int parent, const std::string& name);

}  // namespace dockform::helper
