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

// A connection taken over after the HTTP upgrade (attach): raw bytes both ways.
class RawConnection {
 public:
  RawConnection(void* curl, int fd);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  int fd() const { return fd_; }
  // Bytes already read past the response head; served before the socket's.
  void set_pending(std::string bytes) { pending_ = std::move(bytes); }
  // Reads what is available, waiting at most `timeout`. Returns 0 at end of
  // stream, -1 when nothing arrived in time.
  long read_some(char* buffer, std::size_t size, std::chrono::milliseconds timeout);
  // Sends what the socket accepts without blocking; returns bytes sent (maybe 0).
  std::size_t write_some(const char* data, std::size_t size);
  // Half-closes: the container sees end of input on stdin.
  void close_write();

 private:
  void* curl_;
  int fd_;
  std::string pending_;  // bytes read past the response headers
};

class HttpClient {
 public:
  explicit HttpClient(Endpoint endpoint);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }

  Response request(const std::string& method, const std::string& path, const std::string& json_body = "",
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Streams the body to `on_data` (no overall timeout). Returns the status;
  // an error status's body is returned in `error_body`. An interruptible
  // stream ends early with util::Interrupted on SIGINT/SIGTERM; waits that
  // cleanup depends on are not interruptible.
  long stream(const std::string& method, const std::string& path, const std::string& json_body,
              const std::function<void(std::string_view)>& on_data, std::string* error_body,
              bool interruptible = true);
  // Sends `method path` with "Upgrade: tcp" and returns the raw connection
  // once the daemon answered 101 or 200.
  std::unique_ptr<RawConnection> hijack(const std::string& method, const std::string& path,
                                        const std::string& json_body);

 private:
  [[noreturn]] void fail_transport(int code, const std::string& detail) const;
  Endpoint endpoint_;
  void* curl_;  // reused for control calls (keeps the connection alive)
};

// Extracts {"message": ...} from a daemon error body, or the body itself.
std::string daemon_message(const std::string& body);

}  // namespace dockform::engine
