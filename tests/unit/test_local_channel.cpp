// The local channel's checks on dockform's side (local_channel.hpp): which
// endpoints try it, the token a peer must send first, and the folder's end.
// The helper's side and the fallback run against real engines in
// tests/e2e/test_transport.sh.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "dockform/engine/endpoint.hpp"
#include "dockform/util/process.hpp"
#include "dockform/volume/local_channel.hpp"
#include "test_support.hpp"

namespace dockform {
namespace {

using test::TempDir;
using volume::LocalChannel;

// $TMPDIR and DOCKFORM_TRANSPORT for one test.
class ChannelEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TMPDIR", tmp_.path().c_str(), 1);
    ::unsetenv("DOCKFORM_TRANSPORT");
  }
  void TearDown() override {
    ::unsetenv("TMPDIR");
    ::unsetenv("DOCKFORM_TRANSPORT");
  }
  // The channel's folder under $TMPDIR.
  std::filesystem::path folder() const {
    for (const auto& entry : std::filesystem::directory_iterator(tmp_.path())) {
      if (entry.path().filename().string().starts_with("dockform-io.")) return entry.path();
    }
    return {};
  }
  // Connects as the helper does and sends `line` first.
  util::Fd connect_and_send(const std::string& line) const {
    util::Fd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = (folder() / "socket").string();
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    EXPECT_EQ(0, ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address));
    EXPECT_EQ(static_cast<ssize_t>(line.size()), ::write(fd.get(), line.data(), line.size()));
    return fd;
  }
  TempDir tmp_;
};

TEST_F(ChannelEnv, OnlyAUnixSocketEndpointTriesIt) {
  EXPECT_FALSE(LocalChannel::open_for(engine::parse_endpoint("tcp://127.0.0.1:2376")));
  EXPECT_FALSE(LocalChannel::open_for(engine::parse_endpoint("ssh://backup@db1")));
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path()));
  EXPECT_TRUE(LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock")));
}

TEST_F(ChannelEnv, AttachForcesTheRelayAndOtherValuesAreUsageErrors) {
  ::setenv("DOCKFORM_TRANSPORT", "attach", 1);
  EXPECT_FALSE(LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock")));
  ::setenv("DOCKFORM_TRANSPORT", "auto", 1);
  EXPECT_TRUE(LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock")));
  ::setenv("DOCKFORM_TRANSPORT", "fast", 1);
  test::expect_error([] { LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock")); }, Exit::usage,
                     "DOCKFORM_TRANSPORT must be auto or attach, got 'fast'");
}

TEST_F(ChannelEnv, APrivateFolderWithTheTokenAndTheSocketRemovedAtTheEnd) {
  {
    auto channel = LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock"));
    ASSERT_TRUE(channel);
    auto dir = folder();
    EXPECT_EQ(std::filesystem::perms::owner_all,
              std::filesystem::status(dir).permissions() & std::filesystem::perms::all);
    EXPECT_EQ(32u, test::read_all(dir / "token").size());
    EXPECT_TRUE(std::filesystem::is_socket(dir / "socket"));
    volume::HelperSpec spec;
    spec.args = {"snapshot", "/volume"};
    channel->apply(spec);
    EXPECT_EQ(util::my_owner_identity(), test::read_all(dir / "owner"));
    EXPECT_EQ(dir.string() + ":/dockform-io:ro", spec.channel_bind);
    EXPECT_EQ((std::vector<std::string>{"--channel", "/dockform-io", "snapshot", "/volume"}), spec.args);
    EXPECT_EQ((std::vector<std::string>{"/dockform-helper", "--channel", "/dockform-io", "extract", "/volume/x"}),
              channel->command({"/dockform-helper", "extract", "/volume/x"}));
  }
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path()));
}

TEST_F(ChannelEnv, FoldersOfRunsThatAreGoneAreRemovedFirst) {
  // A killed run's folder (its owner's pid does not run) and a live run's (ours).
  std::string me = util::my_owner_identity();
  auto first = me.find(':');
  auto second = me.find(':', first + 1);
  std::string dead = me.substr(0, first + 1) + "4194303" + me.substr(second);
  auto make = [&](const std::string& name, const std::string& owner) {
    auto dir = tmp_.path() / name;
    std::filesystem::create_directory(dir);
    test::write_plain(dir / "owner", owner);
    test::write_plain(dir / "token", "0123456789abcdef0123456789abcdef");
    return dir;
  };
  auto killed = make("dockform-io.killed", dead);
  auto running = make("dockform-io.running", me);
  auto other = make("unrelated", dead);
  auto channel = LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock"));
  ASSERT_TRUE(channel);
  EXPECT_FALSE(std::filesystem::exists(killed));
  EXPECT_TRUE(std::filesystem::exists(running / "token"));
  EXPECT_TRUE(std::filesystem::exists(other / "owner"));
}

TEST_F(ChannelEnv, TheRightTokenThenTheArchive) {
  auto channel = LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock"));
  ASSERT_TRUE(channel);
  EXPECT_FALSE(channel->accept_checked());  // nobody connected yet
  auto peer = connect_and_send(test::read_all(folder() / "token") + "\narchive bytes");
  ASSERT_TRUE(channel->accept_checked());
  EXPECT_TRUE(channel->connected());
  peer.close();
  char buffer[64];
  std::string got;
  for (long n; (n = channel->read_some(buffer, sizeof buffer)) != 0;) {
    if (n > 0) got.append(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_EQ("archive bytes", got);  // the token line is not part of it
}

TEST_F(ChannelEnv, AWrongTokenIsRefused) {
  auto channel = LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock"));
  ASSERT_TRUE(channel);
  auto peer = connect_and_send("0123456789abcdef0123456789abcdef\n");
  test::expect_error([&] { channel->accept_checked(); }, Exit::error, "wrong token");
  EXPECT_FALSE(channel->connected());
}

TEST_F(ChannelEnv, APeerThatClosesBeforeItsTokenIsRefused) {
  auto channel = LocalChannel::open_for(engine::parse_endpoint("unix:///run/docker.sock"));
  ASSERT_TRUE(channel);
  auto peer = connect_and_send("0123");
  peer.close();
  test::expect_error([&] { channel->accept_checked(); }, Exit::error, "no token line");
}

}  // namespace
}  // namespace dockform
