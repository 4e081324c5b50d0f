#include "dockform/engine/ssh.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>

#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::engine {

namespace {
constexpr std::size_t kMaxErrors = 16 * 1024;

curl_socket_t on_open(void* user, curlsocktype, curl_sockaddr*) {
  int fd = static_cast<SshDialer*>(user)->open();
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

// Called once libcurl has connected (or reuses a connection), before the request.
int on_connected(void* user, char*, char*, int, int) {
  static_cast<SshDialer*>(user)->connected();
  return CURL_PREREQFUNC_OK;
}

int on_close(void* user, curl_socket_t fd) {
  static_cast<SshDialer*>(user)->close(fd);
  return 0;
}

// In the child, between fork and exec: async-signal-safe calls only. It
// takes libcurl's connection on the listening socket (only from dockform
// itself), then becomes ssh with that connection as stdin and stdout.
[[noreturn]] void exec_child(char* const* argv, int listener, int err_fd, pid_t parent) {
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);
  ::setpgid(0, 0);  // a Ctrl-C on the terminal is dockform's to handle, not ssh's
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);  // dockform died before prctl
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int socket_fd = -1;
  for (;;) {
    socket_fd = ::accept(listener, nullptr, nullptr);
    if (socket_fd < 0) {
      if (errno == EINTR) continue;
      ::_exit(127);
    }
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) == 0 && peer.pid == parent) break;
    ::close(socket_fd);
  }
  ::dup2(err_fd, 2);
  ::dup2(socket_fd, 0);
  ::dup2(socket_fd, 1);
  ::dup2(err_fd, 2);
  ::execvp(argv[0], argv);
  // The exec failed: say why on stderr if it is still there (nothing to do
  // when it is not: the parent sees exit 127 either way).
  const char* why = std::strerror(errno);
  const char message[] = "cannot run ssh: ";
  if (::write(2, message, sizeof message - 1) >= 0 && ::write(2, why, std::strlen(why)) >= 0) ::_exit(127);
  ::_exit(127);
}

// PR_SET_PDEATHSIG fires when the thread that forked the child ends, not the
// process: an ssh forked from a worker thread (a copy's snapshot half) would
// get SIGTERM when that thread returns, whatever still used it. So every ssh
// is forked by one thread that lives as long as the process, and still dies
// with it (a SIGKILLed run leaves no ssh).
class Forker {
 public:
  struct Request {
    char* const* argv;
    int listener;
    int err_fd;
    pid_t parent;
    pid_t pid = -1;
    int error = 0;
    bool done = false;
  };

  static Forker& instance() {
    static Forker* forker = new Forker;  // never destroyed: its thread runs until the process ends
    return *forker;
  }

  // The child's pid, or -1 with errno set.
  pid_t fork_child(Request& request) {
    std::unique_lock lock(mutex_);
    queue_.push_back(&request);
    wake_.notify_one();
    done_.wait(lock, [&] { return request.done; });
    errno = request.error;
    return request.pid;
  }

 private:
  Forker() {
    std::thread([this] { serve(); }).detach();
  }

  [[noreturn]] void serve() {
    // Signals are for the main thread, whose loops check for them.
    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return !queue_.empty(); });
      Request* request = queue_.front();
      queue_.pop_front();
      request->pid = ::fork();
      if (request->pid == 0) exec_child(request->argv, request->listener, request->err_fd, request->parent);
      request->error = errno;
      request->done = true;
      done_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::deque<Request*> queue_;
};
}  // namespace

std::vector<std::string> ssh_command(const Endpoint& endpoint, const EnvLookup& env) {
  std::vector<std::string> argv{"ssh", "-o", "ConnectTimeout=30", "-T"};
  // Extra options (e.g. "-F /path/config -o BatchMode=yes"), split on white space.
  if (auto extra = env("DOCKFORM_SSH_OPTS"); extra && !extra->empty()) {
    std::istringstream words(*extra);
    for (std::string word; words >> word;) argv.push_back(word);
  }
  if (!endpoint.ssh_user.empty()) argv.insert(argv.end(), {"-l", endpoint.ssh_user});
  if (!endpoint.ssh_port.empty()) argv.insert(argv.end(), {"-p", endpoint.ssh_port});
  argv.insert(argv.end(), {"--", endpoint.ssh_host, "docker"});
  if (!endpoint.socket_path.empty()) argv.push_back("--host=unix://" + endpoint.socket_path);
  argv.insert(argv.end(), {"system", "dial-stdio"});
  return argv;
}

SshDialer::~SshDialer() {
  for (auto& process : processes_) end(process);
  if (!path_.empty()) ::unlink(path_.c_str());  // a socket no connection reached
}

// libcurl 7.88 connects even a socket its open callback reports as connected,
// so libcurl gets a plain Unix socket to connect to a listening socket, which
// the ssh child accepts (see exec_child). That socket's file exists only from
// the bind until libcurl has connected (connected() removes it), so even a
// SIGKILLed dockform leaves none behind but in that instant. Its random name
// keeps others from taking it first, and the child accepts only a connection
// from dockform itself. (An abstract socket would leave no file at all, but
// libcurl 7.88 reuses no connection to one: each request would start an ssh.)
void SshDialer::attach(CURL* curl) {
  if (path_.empty()) {
    unsigned char bytes[12];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
      throw Error(std::string("cannot name the ssh connection's socket: ") + std::strerror(errno));
    }
    path_ = "/tmp/dockform-ssh-" + util::hex(bytes, sizeof bytes);
  }
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, path_.c_str());
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, on_connected);
  curl_easy_setopt(curl, CURLOPT_PREREQDATA, this);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, on_close);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, this);
}

void SshDialer::connected() { ::unlink(path_.c_str()); }

util::Fd SshDialer::listen_socket() {
  ::unlink(path_.c_str());  // the socket of a connection libcurl never made
  util::Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path_.c_str(), std::min(path_.size() + 1, sizeof address.sun_path - 1));
  if (!listener.valid() || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener.get(), 1) != 0) {
    errors_ += "cannot listen on " + path_ + ": " + std::strerror(errno) + "\n";
    return {};
  }
  return listener;
}

int SshDialer::open() {
  util::Fd listener = listen_socket();
  if (!listener.valid()) return -1;
  util::Fd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int err[2] = {-1, -1};
  if (!client.valid() || ::pipe2(err, O_CLOEXEC) != 0) {
    errors_ += std::string("socket: ") + std::strerror(errno) + "\n";
    return -1;
  }
  util::Fd err_read(err[0]);
  util::Fd err_write(err[1]);
  std::vector<char*> argv;
  for (auto& word : command_) argv.push_back(word.data());
  argv.push_back(nullptr);
  Forker::Request request{argv.data(), listener.get(), err_write.get(), ::getpid()};
  pid_t pid = Forker::instance().fork_child(request);
  listener.close();  // the child's copy takes the one connection
  err_write.close();
  if (pid < 0) {
    errors_ += std::string("fork: ") + std::strerror(errno) + "\n";
    return -1;
  }
  ::fcntl(err_read.get(), F_SETFL, O_NONBLOCK);
  int fd = client.get();
  processes_.push_back(Process{pid, std::move(client), std::move(err_read)});
  return fd;
}

void SshDialer::close(int fd) {
  for (auto it = processes_.begin(); it != processes_.end(); ++it) {
    if (it->fd.get() == fd) {
      end(*it);
      processes_.erase(it);
      return;
    }
  }
  util::Fd{fd}.close();  // not one of ours, closed all the same: libcurl hands its sockets over to be closed
}

// Reads ssh's stderr until it closes or `wait_ms` passed.
void SshDialer::drain(Process& process, int wait_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  char buffer[4096];
  while (process.err_fd.valid()) {
    ssize_t n = ::read(process.err_fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      if (errors_.size() < kMaxErrors) errors_.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      process.err_fd.close();
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{process.err_fd.get(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(left.count()));
  }
}

// Closing our end lets ssh see end of input and leave on its own; one that
// lingers gets SIGTERM, then SIGKILL. Always reaped.
void SshDialer::end(Process& process) {
  process.fd.close();
  if (process.pid > 0) {
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
      gone = ::waitpid(process.pid, &status, WNOHANG) == process.pid;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(i < 10 ? 2 : 10));
    }
    if (!gone) {
      ::kill(process.pid, SIGTERM);
      for (int i = 0; i < 200 && !gone; ++i) {
        gone = ::waitpid(process.pid, &status, WNOHANG) == process.pid;
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (!gone) {
      ::kill(process.pid, SIGKILL);
      ::waitpid(process.pid, &status, 0);
    }
    process.pid = -1;
  }
  drain(process, 0);
  process.err_fd.close();
}

std::string SshDialer::diagnostics() {
  // A failing ssh prints its reason and exits at once; give it that moment.
  for (auto& process : processes_) drain(process, 3000);
  std::string text = errors_;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  for (auto& c : text) {
    if (c == '\n') c = ';';
    if (c == '\r') c = ' ';
  }
  return text;
}

}  // namespace dockform::engine
