#include "dockform/util/signals.hpp"

#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <string>

namespace dockform::util {

namespace {
volatile std::sig_atomic_t g_signal = 0;
// SIGPIPE is kept apart: it also comes from pipes that are not our output.
volatile std::sig_atomic_t g_pipe = 0;

extern "C" void on_signal(int signal) {
  if (signal == SIGPIPE) {
    g_pipe = 1;
  } else {
    g_signal = signal;
  }
}

}  // namespace

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP (terminal or session closed)";
    case SIGPIPE: return "SIGPIPE (output closed)";
  }
  return "signal " + std::to_string(signal);
}

namespace {

// A pipe whose reader is gone polls as POLLERR, a hung-up terminal as POLLHUP.
bool output_broken(int fd) {
  pollfd pfd{fd, POLLOUT, 0};
  return ::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLHUP)) != 0;
}
}  // namespace

bool stdout_closed() { return output_broken(STDOUT_FILENO); }

Interrupted::Interrupted(int signal)
    : signal_(signal), message_("interrupted by " + signal_name(signal) + "; cleaned up") {}

void install_signal_handlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: blocking calls return EINTR so loops notice promptly.
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A closed terminal or ssh session: clean up like SIGTERM rather than die with leftovers.
  sigaction(SIGHUP, &action, nullptr);
  // A closed pipe (e.g. `dockform ... | head`): the write fails with EPIPE
  // and the run stops and cleans up, rather than being killed mid-cleanup.
  sigaction(SIGPIPE, &action, nullptr);
}

int pending_signal() {
  if (g_signal != 0) return g_signal;
  if (g_pipe == 0) return 0;
  // Only a broken stdout or stderr interrupts; a pipe to a transport's child
  // process (ssh) that closed is that transport's error to report.
  if (output_broken(STDOUT_FILENO) || output_broken(STDERR_FILENO)) return SIGPIPE;
  g_pipe = 0;
  return 0;
}

void throw_if_interrupted() {
  if (int signal = pending_signal(); signal != 0) throw Interrupted(signal);
}

}  // namespace dockform::util
