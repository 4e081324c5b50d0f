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
#include "dockform/util/curl.hpp"
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

// A stream given a limit did not end within it.
class StreamTimeout : public Error {
 public:
  using Error::Error;
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
  RawConnection(util::CurlEasy curl, int fd, std::unique_ptr<SshDialer> ssh = nullptr);
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
  [[noreturn]] void fail(CURLcode code) const;
  // ssh_ before curl_: the handle goes first, and closing its socket ends the
  // ssh process.
  std::unique_ptr<SshDialer> ssh_;
  util::CurlEasy curl_;
  int fd_;
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
  // Streams the body to `on_data` (no overall timeout unless `limit` is
  // given: then StreamTimeout once it passed). Returns the status; an error
  // status's body is returned in `error_body`. An interruptible stream ends
  // early with util::Interrupted on SIGINT/SIGTERM/SIGHUP; waits that cleanup
  // depends on are not interruptible.
  long stream(const std::string& method, const std::string& path, const std::string& json_body,
              const std::function<void(std::string_view)>& on_data, std::string* error_body, bool interruptible = true,
              std::chrono::milliseconds limit = std::chrono::milliseconds::zero());
  // Sends `method path` with "Upgrade: tcp" and returns the raw connection
  // once the daemon answered 101 or 200.
  std::unique_ptr<RawConnection> hijack(const std::string& method, const std::string& path,
                                        const std::string& json_body);

 private:
  // Sets up a request on `curl`; the returned header list must outlive the transfer.
  util::CurlHeaders prepare(CURL* curl, const std::string& method, const std::string& path, const std::string& body,
                            SshDialer* ssh, const std::string& content_type = "application/json");
  // Where and how to connect: socket path, TLS files, ssh.
  void connection_options(CURL* curl, SshDialer* ssh);
  std::unique_ptr<SshDialer> make_dialer() const;
  // The connection of a hijack: connected (TLS done), the request still ours to send.
  util::CurlEasy connect_only(const std::string& what, SshDialer* ssh);
  // Reads the answer to a hijack's request; throws EngineError unless it is 101 or 200.
  void read_upgrade_answer(RawConnection& connection, const std::string& path,
                           std::chrono::steady_clock::time_point deadline) const;
  [[noreturn]] void fail_transport(CURLcode code, const std::string& detail, SshDialer* ssh) const;
  Endpoint endpoint_;
  EnvLookup env_;
  // Destroyed in reverse: libcurl's handle first, since closing its
  // connections ends their ssh processes.
  std::unique_ptr<SshDialer> ssh_;  // the control handle's ssh processes
  util::CurlEasy curl_;             // reused for control calls (keeps the connection alive)
  util::CurlErrorBuffer error_;     // libcurl's detail for the last failed call
};

// Extracts {"message": ...} from a daemon error body, or the body itself.
std::string daemon_message(const std::string& body);

}  // namespace dockform::engine
