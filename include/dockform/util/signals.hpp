#pragma once
// SIGINT, SIGTERM, SIGHUP (and SIGPIPE from a closed stdout or stderr) only
// set a flag; long loops poll it and unwind by throwing Interrupted, so every
// RAII owner (helper container, temp file, stopped container, lock) cleans up
// on the normal exception path.
#include <string>

#include "dockform/util/error.hpp"

namespace dockform::util {

// Deliberately derived from neither Error nor std::exception: code that
// catches those to add context or to carry on with the next item (a pull's
// error message, `snapshot --all`) cannot swallow a Ctrl-C by mistake. Only
// main() and code that rethrows (catch (...)) see it.
class Interrupted {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }
  const char* what() const noexcept { return message_.c_str(); }
  Exit code() const { return Exit::error; }

 private:
  int signal_;
  std::string message_;
};

// The reader of standard output went away (`dockform volume ls F | head`)
// while a command whose output is all it does was writing it: main ends
// quietly with kClosedOutputExit, as a shell shows tar or cat ended by
// SIGPIPE. Not an Error, so that nothing adds context to it or carries on.
class OutputClosed {};
inline constexpr int kClosedOutputExit = 141;  // 128 + SIGPIPE
// Standard output is a pipe (or socket) whose reader is gone.
bool stdout_closed();

void install_signal_handlers();
// The signal that arrived, or 0.
int pending_signal();
// "SIGINT", "SIGTERM", "SIGHUP (terminal or session closed)", ...
std::string signal_name(int signal);
void throw_if_interrupted();

}  // namespace dockform::util
