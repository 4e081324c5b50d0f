#pragma once
// ssh:// endpoints, as the Docker CLI reaches them: an `ssh` process runs
// `docker system dial-stdio` on the remote host, and its stdin/stdout carry
// the HTTP connection. Each connection libcurl opens gets its own ssh process,
// whose stdin and stdout are that connection's far end: a Unix socket of a
// random name, accepted by the ssh child just before it runs ssh.
#include <sys/types.h>

#include <string>
#include <vector>

#include "dockform/engine/endpoint.hpp"
#include "dockform/util/curl.hpp"
#include "dockform/util/fd.hpp"

namespace dockform::engine {

// The ssh command line for `endpoint`: ssh -o ConnectTimeout=30 -T
// [DOCKFORM_SSH_OPTS words] [-l user] [-p port] -- host docker
// [--host=unix://socket] system dial-stdio.
std::vector<std::string> ssh_command(const Endpoint& endpoint, const EnvLookup& env);

// Owns the ssh processes of one libcurl handle. None outlives this object,
// and none outlives dockform: each also gets SIGTERM when dockform dies.
class SshDialer {
 public:
  explicit SshDialer(std::vector<std::string> command) : command_(std::move(command)) {}
  ~SshDialer();
  SshDialer(const SshDialer&) = delete;
  SshDialer& operator=(const SshDialer&) = delete;

  // Installs the socket callbacks on a libcurl handle.
  void attach(CURL* curl);
  // Starts an ssh process; returns the socket libcurl uses, or -1 (the reason
  // then is in diagnostics()).
  int open();
  // libcurl has connected: the listening socket's file goes.
  void connected();
  // Closes libcurl's socket and ends its ssh process.
  void close(int fd);
  // What the ssh processes wrote on stderr (or why one could not start),
  // waiting a moment for a failing one to finish its message.
  std::string diagnostics();

 private:
  struct Process {
    pid_t pid = -1;
    util::Fd fd;      // the socket libcurl connects
    util::Fd err_fd;  // read end of ssh's stderr
  };
  void drain(Process& process, int wait_ms);
  void end(Process& process);
  util::Fd listen_socket();

  std::vector<std::string> command_;
  std::string path_;  // the listening socket, /tmp/dockform-ssh-<random>
  std::vector<Process> processes_;
  std::string errors_;  // stderr of every process, capped
};

}  // namespace dockform::engine
