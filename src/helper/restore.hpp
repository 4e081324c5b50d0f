#pragma once

#include <string>

#include "swap.hpp"

namespace dockform::helper {

// `restore ROOT ID [--path PATH]...`: recovery and report (swap.hpp's
// prepare), with `paths` a check that the volume's folders above each are
// folders where it has them, then the
// staging folder .dockform-restore-ID (mode 0700 until extract sets the
// archive's root member's metadata, or without one the volume root's own),
// "ready" on stdout, then one command a line on stdin:
//   flush      syncfs; answers "flushed"
//   go         syncfs unless flushed, swap to phase 3 (of `paths` only,
//              when there are any, each first checked to be staged: exit 1
//              before any move when one is not); answers "live", then
//              on one more line removes the old content, answers "swapped"
//   (other)    removes the staging folder; answers "abandoned"
// The end of stdin (dockform gone) leaves everything as it is, exit 0: the
// next run rolls it forward. Exit 112 when the staging folder cannot be
// made, 1 on any other failure.
int restore_command(const std::string& root, const std::string& id, const Paths& paths);

}  // namespace dockform::helper
