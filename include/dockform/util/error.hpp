#pragma once
// One exception type for everything the user should read, carrying the
// process exit code so cron wrappers can tell failures apart.
#include <stdexcept>
#include <string>

namespace dockform {

enum class Exit : int {
  ok = 0,
  error = 1,        // anything else that failed
  usage = 2,        // bad flags or arguments
  refused = 3,      // refused for safety: non-empty volume, containers in use, checksum mismatch, unsafe archive
  unreachable = 4,  // the Docker Engine did not answer
  manifest = 5,     // the manifest could not be read or is invalid
  storage = 6,      // the object storage (s3://) refused a request or did not answer
  stale = 7,        // volume list --max-age: a volume's newest snapshot is too old, or it has none
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, Exit code = Exit::error) : std::runtime_error(message), code_(code) {}
  Exit code() const { return code_; }

 private:
  Exit code_;
};

}  // namespace dockform
