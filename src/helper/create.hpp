#pragma once

#include <string>

#include "glob.hpp"

namespace dockform::helper {

// Writes `root` to stdout as a pax tar stream; returns the exit code.
int create(const std::string& root, const Excludes& excludes);

}  // namespace dockform::helper
