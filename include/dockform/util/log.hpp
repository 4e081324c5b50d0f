#pragma once
#include <string>

namespace dockform::util {

struct LogOptions {
  std::string level = "info";   // debug|info|warn|error
  std::string format = "auto";  // auto|pretty|json
  std::string file;             // JSON lines, in addition to stderr
  bool no_color = false;        // also NO_COLOR in the environment
  bool verbose = false;         // same as level debug
};

// Configures the default spdlog logger: stderr, plus the optional file.
// Throws Error(usage) on an unknown level or format.
void setup_logging(const LogOptions& options);

}  // namespace dockform::util
