#pragma once

#include <string>

#include "glob.hpp"

namespace dockform::helper {

// Writes `root` to stdout as a pax tar stream; returns the exit code.
// With `estimate`, first reports about how many bytes the stream will have
// (a walk of names and sizes: for a progress line's ETA).
int create(const std::string& root, const Excludes& excludes, bool estimate = false);

}  // namespace dockform::helper
