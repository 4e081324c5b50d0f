#include "dockform/util/signals.hpp"

#include <csignal>
#include <cstring>
#include <string>

namespace dockform::util {

namespace {
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int signal) { g_signal = signal; }
}  // namespace

Interrupted::Interrupted(int signal)
    : signal_(signal),
      message_(std::string("interrupted by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + "; cleaned up") {}

void install_signal_handlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: blocking calls return EINTR so loops notice promptly.
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A closed pipe (e.g. `dockform ... | head`) must surface as an error, not kill us mid-cleanup.
  std::signal(SIGPIPE, SIG_IGN);
}

int pending_signal() { return g_signal; }

void throw_if_interrupted() {
  if (g_signal != 0) throw Interrupted(g_signal);
}

}  // namespace dockform::util
