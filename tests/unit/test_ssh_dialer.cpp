// engine::SshDialer's descriptors (held as util::Fd): every socket and pipe
// it opens is closed again, whether libcurl closes the connection or the
// dialer goes first. The ssh child never gets a connection here: it waits in
// accept() until it is ended, so no ssh is run.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dockform/engine/ssh.hpp"
#include "dockform/util/curl.hpp"

namespace dockform::engine {
namespace {

std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

TEST(SshDialer, ClosedConnectionsAndTheDialerLeaveNoDescriptorBehind) {
  auto curl = util::make_curl_easy();
  const std::size_t before = open_descriptors();
  {
    SshDialer dialer({"ssh-not-run"});
    dialer.attach(curl.get());
    int first = dialer.open();
    ASSERT_GE(first, 0) << dialer.diagnostics();
    dialer.close(first);  // as libcurl does when it drops a connection
    int second = dialer.open();
    ASSERT_GE(second, 0) << dialer.diagnostics();
    EXPECT_GT(open_descriptors(), before);
  }  // the second one is the destructor's
  EXPECT_EQ(open_descriptors(), before);
}

// This process's children that have not exited (zombies excluded), from
// every thread's /proc children list.
std::size_t live_children() {
  std::size_t count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream list(task.path() / "children");
    for (std::string pid; list >> pid;) {
      std::ifstream stat("/proc/" + pid + "/stat");
      std::string line;
      std::getline(stat, line);
      auto state = line.find(") ");
      if (state != std::string::npos && line[state + 2] != 'Z') ++count;
    }
  }
  return count;
}

// The parent-death signal follows the thread that forked: an ssh opened from
// a thread that has ended since (a copy's snapshot half) must live on until
// its dialer ends it.
TEST(SshDialer, ASshOpenedFromAThreadOutlivesThatThread) {
  auto curl = util::make_curl_easy();
  SshDialer dialer({"ssh-not-run"});
  dialer.attach(curl.get());
  int fd = -1;
  std::thread([&] { fd = dialer.open(); }).join();
  ASSERT_GE(fd, 0) << dialer.diagnostics();
  // A SIGTERM at the thread's end lands within moments: give it time.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(live_children(), 1u) << "the child waiting in accept() was ended with the thread that forked it";
  dialer.close(fd);
  EXPECT_EQ(live_children(), 0u);
}

TEST(SshDialer, ASocketThatIsNotOneOfItsOwnIsClosedToo) {
  const std::size_t before = open_descriptors();
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  SshDialer dialer({"ssh-not-run"});
  dialer.close(pipe_ends[0]);
  dialer.close(pipe_ends[1]);
  EXPECT_EQ(open_descriptors(), before);
}

}  // namespace
}  // namespace dockform::engine
