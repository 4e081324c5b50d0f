// engine::SshDialer's descriptors (held as util::Fd): every socket and pipe
// it opens is closed again, whether libcurl closes the connection or the
// dialer goes first. The ssh child never gets a connection here: it waits in
// accept() until it is ended, so no ssh is run.
#include <gtest/gtest.h>

#include <filesystem>

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
