#pragma once

#include <optional>
#include <string>

#include "glob.hpp"

namespace dockform::helper {

struct CreateOptions {
  Excludes excludes;
  // First report about how many bytes the stream will have (a walk of
  // names and sizes: for a progress line's ETA).
  bool estimate = false;
  // Report every member's inode and change time (StatLines, report.hpp).
  bool stat = false;
  // The fast path (previous.hpp): the previous snapshot's members, and the
  // nonce of the marker entries. Both or neither.
  std::optional<std::string> previous;
  std::string marker;
};

// Writes `root` to stdout as a pax tar stream; returns the exit code.
int create(const std::string& root, const CreateOptions& options);

}  // namespace dockform::helper
