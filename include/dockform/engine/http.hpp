#pragma once
// HTTP to the Docker Engine over libcurl: buffered control calls with a
// timeout, streamed bodies without one, and hijacked raw connections.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "dockform/engine/endpoint.hpp"
#include "dockform/util/error.hpp"

namespace dockform::engine {

class SshDialer;

// The daemon answered with an error status; message() is the daemon's own text.
class EngineError : public Error {
 public:
  EngineError(long status, const std::string& message) : Error(message), status_(status) {}
  long status() const { return status_; }

 private:
  long status_;
};

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

// A connection taken over after the HTTP upgrade (attach): raw bytes both
// ways. Every byte goes through libcurl's connection (curl_easy_send/recv),
// so a TLS endpoint stays encrypted and an ssh endpoint goes through ssh.
class RawConnection {
 public:
  RawConnection(void* curl, int fd, std::unique_ptr<SshDialer> ssh = nullptr);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // The socket, to poll. Safe with TLS as long as reads use a buffer of at
  // least 16 KiB: each read_some takes at most one TLS record (<= 16 KiB),
  // so nothing decrypted is left waiting behind a quiet socket.
  int fd() const { return fd_; }
  // Bytes already read past the response head; served before the socket's.
  void set_pending(std::string bytes) { pending_ = std::move(bytes); }
  // Reads what is available, waiting at most `timeout`. Returns 0 at end of
  // stream, -1 when nothing arrived in time.
  long read_some(char* buffer, std::size_t size, std::chrono::milliseconds timeout);
  // Takes up to 64 KiB without blocking and returns how much it took (maybe
  // 0). Bytes taken but not yet on the wire go out on the next write_some,
  // read_some or close_write.
  std::size_t write_some(const char* data, std::size_t size);
  // Sends everything taken, waiting at most `timeout`; throws when it cannot.
  void flush(std::chrono::milliseconds timeout);
  // Half-closes (after a flush): the container sees end of input on stdin.
  void close_write();

 private:
  bool send_outgoing();
  [[noreturn]] void fail(int code) const;
  void* curl_;
  int fd_;
  std::unique_ptr<SshDialer> ssh_;
  std::string pending_;   // bytes read past the response headers
  std::string outgoing_;  // taken by write_some, not yet sent; resent unchanged (as TLS requires)
};

class HttpClient {
 public:
  // Checks that the TLS files can be read; `env` gives DOCKFORM_SSH_OPTS.
  explicit HttpClient(Endpoint endpoint, EnvLookup env = nullptr);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }

  Response request(const std::string& method, const std::string& path, const std::string& json_body = "",
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The same with a body of another type (e.g. a tar: application/x-tar).
  Response request_with(const std::string& method, const std::string& path, const std::string& body,
                        const std::string& content_type, std::chrono::milliseconds timeout);
  // Streams the body to `on_data` (no overall timeout). Returns the status;
  // an error status's body is returned in `error_body`. An interruptible
  // stream ends early with util::Interrupted on SIGINT/SIGTERM; waits that
  // cleanup depends on are not interruptible.
  long stream(const std::string& method, const std::string& path, const std::string& json_body,
              const std::function<void(std::string_view)>& on_data, std::string* error_body, bool interruptible = true);
  // Sends `method path` with "Upgrade: tcp" and returns the raw connection
  // once the daemon answered 101 or 200.
  std::unique_ptr<RawConnection> hijack(const std::string& method, const std::string& path,
                                        const std::string& json_body);

 private:
  void* prepare(void* curl, const std::string& method, const std::string& path, const std::string& body, SshDialer* ssh,
                const std::string& content_type = "application/json");
  // Where and how to connect: socket path, TLS files, ssh.
  void connection_options(void* curl, SshDialer* ssh);
  std::unique_ptr<SshDialer> make_dialer() const;
  [[noreturn]] void fail_transport(int code, const std::string& detail, SshDialer* ssh) const;
  Endpoint endpoint_;
  EnvLookup env_;
  std::unique_ptr<SshDialer> ssh_;  // the control handle's ssh processes
  void* curl_;                      // reused for control calls (keeps the connection alive)
  char error_text_[256] = {};       // libcurl's detail for the last failed call
};

// Extracts {"message": ...} from a daemon error body, or the body itself.
std::string daemon_message(const std::string& body);

}  // namespace dockform::engine
