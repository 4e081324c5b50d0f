#include "dockform/volume/local_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "dockform/crypto/primitives.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/process.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/unix_socket.hpp"

namespace dockform::volume {

namespace {
constexpr const char* kMountPoint = "/dockform-io";
constexpr auto kTokenLimit = std::chrono::seconds(10);

std::string temp_root() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// The age past which a channel folder without an owner record is abandoned.
constexpr std::time_t kOwnerlessAge = 3600;

void remove_folder(const std::string& dir) {
  for (const char* name : {"/socket", "/token", "/owner", "/previous"}) {
    if (::unlink((dir + name).c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("could not remove {}{}: {}", dir, name, std::strerror(errno));
    }
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) spdlog::warn("could not remove {}: {}", dir, std::strerror(errno));
}

// Folders of runs that were killed (SIGKILL, power loss) before they could
// remove theirs: only those whose owner is proved gone, and only ours.
void remove_abandoned_folders() {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(temp_root(), error)) {
    const auto name = entry.path().filename().string();
    struct stat info {};
    if (!name.starts_with("dockform-io.") || ::lstat(entry.path().c_str(), &info) != 0 || !S_ISDIR(info.st_mode) ||
        info.st_uid != ::geteuid()) {
      continue;
    }
    std::ifstream in(entry.path() / "owner");
    std::string owner;
    if (std::getline(in, owner) && !owner.empty()) {
      if (!util::owner_is_gone(owner)) continue;
      spdlog::debug("removing {}, left by a dockform run that is gone", entry.path().string());
    } else {
      // No owner record: a run killed between mkdtemp and writing it (a live
      // run writes it at once); only once that is long past.
      if (std::time(nullptr) - info.st_mtime < kOwnerlessAge) continue;
      spdlog::debug("removing {}, left without an owner record by a run killed as it started", entry.path().string());
    }
    remove_folder(entry.path().string());
  }
}

std::string random_token() {
  unsigned char bytes[16];
  crypto::random_bytes(bytes, sizeof bytes);
  return util::hex(bytes, sizeof bytes);
}

void write_file(const std::string& path, const std::string& text) {
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  std::size_t done = 0;
  while (fd.valid() && done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (!fd.valid() || done != text.size()) throw Error("cannot write " + path + ": " + std::strerror(errno));
}

util::Fd listen_on(const std::string& path) {
  sockaddr_un address;
  if (!util::unix_address(path, address)) throw Error("socket path too long: " + path);
  util::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd.get(), 1) != 0) {
    throw Error("cannot listen on " + path + ": " + std::strerror(errno));
  }
  return fd;
}

// The line the helper sends first, read byte by byte: what follows is the archive.
std::string read_token_line(int fd) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + kTokenLimit;
  while (line.size() <= 128) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw Error("the helper sent no token on the local channel within 10 s");
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    if (c == '\n') return line;
    line += c;
  }
  throw Error("the local channel's peer sent no token line");
}
}  // namespace

std::optional<LocalChannel> LocalChannel::open_for(const engine::Endpoint& endpoint) {
  const std::string transport = std::getenv("DOCKFORM_TRANSPORT") ? std::getenv("DOCKFORM_TRANSPORT") : "";
  if (transport == "attach") {
    spdlog::debug("transport: attach (DOCKFORM_TRANSPORT=attach)");
    return std::nullopt;
  }
  if (!transport.empty() && transport != "auto") {
    throw Error("DOCKFORM_TRANSPORT must be auto or attach, got '" + transport + "'", Exit::usage);
  }
  if (endpoint.kind != engine::Endpoint::Kind::unix_socket) {
    spdlog::debug("transport: attach (the engine at {} may run on another machine)", endpoint.url);
    return std::nullopt;
  }
  remove_abandoned_folders();
  LocalChannel channel;
  std::string pattern = temp_root() + "/dockform-io.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    spdlog::debug("transport: attach (cannot make {}: {})", pattern, std::strerror(errno));
    return std::nullopt;
  }
  channel.dir_ = pattern;
  try {
    channel.token_ = random_token();
    write_file(channel.dir_ + "/owner", util::my_owner_identity());
    write_file(channel.dir_ + "/token", channel.token_);
    channel.listener_ = listen_on(channel.dir_ + "/socket");
  } catch (const Error& e) {
    spdlog::debug("transport: attach ({})", e.what());
    return std::nullopt;  // the destructor removes the folder
  }
  return channel;
}

LocalChannel::LocalChannel(LocalChannel&& other) noexcept
    : dir_(std::exchange(other.dir_, std::string())),
      token_(std::move(other.token_)),
      listener_(std::move(other.listener_)),
      data_(std::move(other.data_)) {}

LocalChannel::~LocalChannel() {
  data_.close();
  listener_.close();
  if (!dir_.empty()) remove_folder(dir_);
}

// Read-only: the helper reads the token and connects to the socket (a
// connect needs no write access to the mount), and can put nothing there.
void LocalChannel::mount(HelperSpec& spec) const { spec.channel_bind = dir_ + ":" + kMountPoint + ":ro"; }

std::string LocalChannel::put_previous(const std::string& records) const {
  write_file(dir_ + "/previous", records);
  return std::string(kMountPoint) + "/previous";
}

void LocalChannel::apply(HelperSpec& spec) const {
  mount(spec);
  spec.args.insert(spec.args.begin(), {"--channel", kMountPoint});
}

std::vector<std::string> LocalChannel::command(std::vector<std::string> helper_command) const {
  helper_command.insert(helper_command.begin() + 1, {"--channel", kMountPoint});
  return helper_command;
}

bool LocalChannel::wait_connected(engine::RawConnection& exec, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool exec_ended = false;
  char buffer[16 * 1024];
  while (!connected()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("the helper did not connect to the local channel within " + std::to_string(limit.count()) + " s");
    }
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {exec.fd(), POLLIN, 0}};
    ::poll(fds, 2, 200);
    // Its output before a connection is only ever its "no-channel" report: dropped.
    if (!exec_ended && exec.read_some(buffer, sizeof buffer, std::chrono::milliseconds(0)) == 0) exec_ended = true;
    if (accept_checked()) return true;
    if (exec_ended) return false;  // it connects before anything else: it never will
  }
  return true;
}

std::size_t LocalChannel::write_some(const char* data, std::size_t size) {
  for (;;) {
    ssize_t n = ::send(data_.get(), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    throw Error(std::string("the helper stopped reading the archive (local channel: ") + std::strerror(errno) + ")");
  }
}

void LocalChannel::close_write() {
  if (data_.valid()) ::shutdown(data_.get(), SHUT_WR);
}

bool LocalChannel::accept_checked() {
  util::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd.valid()) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
    throw Error(std::string("accept on the local channel: ") + std::strerror(errno));
  }
  if (read_token_line(fd.get()) != token_) throw Error("the local channel's peer sent a wrong token");
  data_ = std::move(fd);
  listener_.close();  // one helper, one connection
  spdlog::debug("transport: local channel {} (the helper read the token)", dir_);
  return true;
}

long LocalChannel::read_some(char* buffer, std::size_t size) {
  for (;;) {
    ssize_t n = ::read(data_.get(), buffer, size);
    if (n >= 0) return static_cast<long>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return -1;
    throw Error(std::string("read from the local channel: ") + std::strerror(errno));
  }
}

}  // namespace dockform::volume
