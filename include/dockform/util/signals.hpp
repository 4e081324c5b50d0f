#pragma once
// SIGINT, SIGTERM, SIGHUP (and SIGPIPE from a closed stdout or stderr) only
// set a flag; long loops poll it and unwind by throwing Interrupted, so every
// RAII owner (helper container, temp file, stopped container, lock) cleans up
// on the normal exception path.
#include "dockform/util/error.hpp"

namespace dockform::util {

class Interrupted : public Error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

void install_signal_handlers();
// The signal that arrived, or 0.
int pending_signal();
void throw_if_interrupted();

}  // namespace dockform::util
