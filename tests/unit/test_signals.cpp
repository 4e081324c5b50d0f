// SIGPIPE interrupts a run only when it comes from our own output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "dockform/util/signals.hpp"

namespace {
using dockform::util::Interrupted;
using dockform::util::pending_signal;

// Installs dockform's handlers for one test and puts the old ones back.
class SignalHandlers : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i) sigaction(kSignals[i], nullptr, &saved_[i]);
    dockform::util::install_signal_handlers();
  }
  void TearDown() override {
    for (int i = 0; i < 4; ++i) sigaction(kSignals[i], &saved_[i], nullptr);
  }
  static constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  struct sigaction saved_[4]{};
};

// A pipe whose reader is gone: writing to it raises SIGPIPE and fails with EPIPE.
int broken_pipe() {
  int fds[2];
  EXPECT_EQ(0, ::pipe(fds));
  ::close(fds[0]);
  return fds[1];
}

TEST_F(SignalHandlers, SigpipeFromAnotherPipeIsNotAnInterruption) {
  int fd = broken_pipe();
  EXPECT_EQ(-1, ::write(fd, "x", 1));
  EXPECT_EQ(EPIPE, errno);
  ::close(fd);
  EXPECT_EQ(0, pending_signal());
  EXPECT_NO_THROW(dockform::util::throw_if_interrupted());
}

TEST_F(SignalHandlers, SigpipeFromABrokenStdoutInterrupts) {
  int saved_stdout = ::dup(STDOUT_FILENO);
  int fd = broken_pipe();
  ::dup2(fd, STDOUT_FILENO);
  ::close(fd);
  EXPECT_EQ(-1, ::write(STDOUT_FILENO, "x", 1));
  int seen = pending_signal();
  std::string message;
  try {
    dockform::util::throw_if_interrupted();
  } catch (const Interrupted& e) {
    message = e.what();
  }
  ::dup2(saved_stdout, STDOUT_FILENO);
  ::close(saved_stdout);
  EXPECT_EQ(SIGPIPE, seen);
  EXPECT_EQ("interrupted by SIGPIPE (output closed); cleaned up", message);
  EXPECT_EQ(0, pending_signal());  // stdout works again: no interruption left behind
}
}  // namespace
