#include "dockform/engine/http.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dockform/engine/ssh.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::engine {

namespace {
// The caller's callbacks may throw; libcurl is C, so exceptions are parked
// here and rethrown after curl_easy_perform returns.
struct Transfer {
  std::string* body = nullptr;
  const std::function<void(std::string_view)>* on_data = nullptr;
  util::ResponseHead head;
  std::exception_ptr error;
};

// A streamed body goes to on_data, an error answer's body is kept.
size_t on_stream_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  try {
    std::string_view chunk(data, bytes);
    if (transfer->on_data != nullptr && transfer->head.status < 400) {
      (*transfer->on_data)(chunk);
    } else if (transfer->body != nullptr) {
      transfer->body->append(chunk);
    }
  } catch (...) {
    transfer->error = std::current_exception();
    return 0;  // aborts the transfer
  }
  return bytes;
}

// A missing or unreadable certificate file is named before any connection:
// libcurl's own message would not say which file it was.
void check_tls_files(const Endpoint& endpoint) {
  if (endpoint.kind != Endpoint::Kind::tcp || !endpoint.tls.enabled) return;
  const std::pair<const char*, const std::string*> files[] = {{"CA certificate", &endpoint.tls.ca_file},
                                                              {"client certificate", &endpoint.tls.cert_file},
                                                              {"client key", &endpoint.tls.key_file}};
  for (const auto& [what, path] : files) {
    if (path->empty() || ::access(path->c_str(), R_OK) == 0) continue;
    throw Error("cannot reach the Docker Engine at " + endpoint.url + " (tcp+tls): TLS " + what + " " + *path +
                    " cannot be read: " + std::strerror(errno),
                Exit::unreachable);
  }
}

// A TCP engine that vanished (machine down, network gone) sends nothing, not
// even a reset: keepalive probes notice it within about two minutes.
void set_keepalive(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 10L);
}
}  // namespace

std::string daemon_message(const std::string& body) {
  try {
    auto parsed = nlohmann::json::parse(body);
    if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
      return parsed["message"].get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "(no message)" : text;
}

HttpClient::HttpClient(Endpoint endpoint, EnvLookup env) : endpoint_(std::move(endpoint)), env_(std::move(env)) {
  if (!env_) {
    env_ = [](const std::string& name) -> std::optional<std::string> {
      const char* value = std::getenv(name.c_str());
      return value ? std::optional<std::string>(value) : std::nullopt;
    };
  }
  check_tls_files(endpoint_);
  ssh_ = make_dialer();
  curl_ = util::make_curl_easy();
}

HttpClient::~HttpClient() = default;

std::unique_ptr<SshDialer> HttpClient::make_dialer() const {
  if (endpoint_.kind != Endpoint::Kind::ssh) return nullptr;
  return std::make_unique<SshDialer>(ssh_command(endpoint_, env_));
}

void HttpClient::connection_options(CURL* curl, SshDialer* ssh) {
  util::set_basic_options(curl, error_);
  set_keepalive(curl);
  if (endpoint_.kind == Endpoint::Kind::unix_socket) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, endpoint_.socket_path.c_str());
  }
  if (ssh != nullptr) ssh->attach(curl);
  const TlsSettings& tls = endpoint_.tls;
  if (endpoint_.kind != Endpoint::Kind::tcp || !tls.enabled) return;
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  // Only the endpoint's CA is trusted, as with the Docker CLI: not the system's.
  curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  if (!tls.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.key_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
}

util::CurlHeaders HttpClient::prepare(CURL* curl, const std::string& method, const std::string& path,
                                      const std::string& body, SshDialer* ssh, const std::string& content_type) {
  curl_easy_reset(curl);
  std::string url = endpoint_.http_base() + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  connection_options(curl, ssh);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  util::CurlHeaders headers;
  if (method != "GET" && method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, body.c_str());
    headers.add("Content-Type: " + content_type);
  }
  headers.add("Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  return headers;
}

void HttpClient::fail_transport(CURLcode code, const std::string& detail, SshDialer* ssh) const {
  if (code == CURLE_ABORTED_BY_CALLBACK) util::throw_if_interrupted();
  std::string text = error_.describe(code);
  if (util::is_tls_failure(code)) text = "TLS failed: " + text;
  if (!detail.empty()) text += " (" + detail + ")";
  if (ssh != nullptr) {
    std::string said = ssh->diagnostics();
    text += said.empty() ? "; ssh printed nothing" : "; ssh: " + said;
  }
  bool unreachable = ssh != nullptr || util::is_tls_failure(code) || util::is_connection_failure(code) ||
                     code == CURLE_WEIRD_SERVER_REPLY;
  throw Error("cannot reach the Docker Engine at " + endpoint_.url + " (" + endpoint_.transport() + "): " + text,
              unreachable ? Exit::unreachable : Exit::error);
}

Response HttpClient::request(const std::string& method, const std::string& path, const std::string& json_body,
                             std::chrono::milliseconds timeout) {
  return request_with(method, path, json_body, "application/json", timeout);
}

Response HttpClient::request_with(const std::string& method, const std::string& path, const std::string& body,
                                  const std::string& content_type, std::chrono::milliseconds timeout) {
  Response response;
  util::ResponseHead head;
  CURL* curl = curl_.get();
  util::CurlHeaders headers = prepare(curl, method, path, body, ssh_.get(), content_type);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  util::collect_body(curl, &response.body);
  util::collect_head(curl, &head);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path, ssh_.get());
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  response.headers = std::move(head.headers);
  return response;
}

long HttpClient::stream(const std::string& method, const std::string& path, const std::string& json_body,
                        const std::function<void(std::string_view)>& on_data, std::string* error_body,
                        bool interruptible, std::chrono::milliseconds limit) {
  auto ssh = make_dialer();  // declared first: outlives the handle whose sockets it owns
  util::CurlEasy handle = util::make_curl_easy();
  CURL* curl = handle.get();
  std::string body;
  Transfer transfer;
  transfer.body = &body;
  transfer.on_data = &on_data;
  util::CurlHeaders headers = prepare(curl, method, path, json_body, ssh.get());
  // Long streams end early on SIGINT/SIGTERM; control calls (cleanup included) do not.
  if (interruptible) util::abort_on_signal(curl);
  if (limit.count() > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(limit.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_stream_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  util::collect_head(curl, &transfer.head);
  CURLcode rc = curl_easy_perform(curl);
  if (transfer.error) std::rethrow_exception(transfer.error);
  if (rc == CURLE_OPERATION_TIMEDOUT && limit.count() > 0) {
    throw StreamTimeout(method + " " + path + ": no end within " + std::to_string(limit.count() / 1000) + " s");
  }
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path, ssh.get());
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (error_body != nullptr) *error_body = body;
  return status;
}

util::CurlEasy HttpClient::connect_only(const std::string& what, SshDialer* ssh) {
  util::CurlEasy handle = util::make_curl_easy();
  CURL* curl = handle.get();
  std::string url = endpoint_.http_base() + "/";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  connection_options(curl, ssh);
  // libcurl connects (and does the TLS handshake); the request is ours.
  curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) fail_transport(rc, what, ssh);
  if (ssh != nullptr) ssh->connected();  // its socket file goes, whether or not libcurl ran the prereq callback
  util::CurlErrorBuffer::detach(curl);   // error_ is for this client's calls only
  return handle;
}

std::unique_ptr<RawConnection> HttpClient::hijack(const std::string& method, const std::string& path,
                                                  const std::string& json_body) {
  auto ssh = make_dialer();  // declared first: outlives the handle whose sockets it owns
  util::CurlEasy curl = connect_only(method + " " + path, ssh.get());
  curl_socket_t socket = CURL_SOCKET_BAD;
  curl_easy_getinfo(curl.get(), CURLINFO_ACTIVESOCKET, &socket);
  if (socket == CURL_SOCKET_BAD) throw Error("cannot open a raw connection to " + endpoint_.url);

  std::string request = method + " " + path + " HTTP/1.1\r\nHost: docker\r\n" +
                        "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
  auto connection = std::make_unique<RawConnection>(std::move(curl), socket, std::move(ssh));
  std::size_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // No signal checks here: cleanup after SIGINT attaches to helpers too.
  while (sent < request.size()) {
    if (std::chrono::steady_clock::now() > deadline) throw Error("timed out sending " + path + " to " + endpoint_.url);
    pollfd pfd{socket, POLLOUT, 0};
    ::poll(&pfd, 1, 200);
    sent += connection->write_some(request.data() + sent, request.size() - sent);
  }
  connection->flush(std::chrono::seconds(30));
  read_upgrade_answer(*connection, path, deadline);
  return connection;
}

void HttpClient::read_upgrade_answer(RawConnection& connection, const std::string& path,
                                     std::chrono::steady_clock::time_point deadline) const {
  // Read the response head; whatever follows it already belongs to the stream.
  std::string head;
  char buffer[4096];
  std::size_t end = std::string::npos;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline || head.size() > 65536) {
      throw Error("no answer from the Docker Engine at " + endpoint_.url + " to " + path, Exit::unreachable);
    }
    long n = connection.read_some(buffer, sizeof buffer, std::chrono::milliseconds(200));
    if (n == 0) throw Error("the Docker Engine closed the connection for " + path, Exit::unreachable);
    if (n > 0) head.append(buffer, static_cast<std::size_t>(n));
  }
  long status = util::parse_status_line(head.substr(0, head.find("\r\n"))).value_or(0);
  std::string rest = head.substr(end + 4);
  if (!util::status_in(status, {101, 200})) {
    // Error answers are small; the body follows the head (maybe not all read yet).
    auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (rest.find('}') == std::string::npos && std::chrono::steady_clock::now() < stop) {
      long n = connection.read_some(buffer, sizeof buffer, std::chrono::milliseconds(100));
      if (n == 0) break;
      if (n > 0) rest.append(buffer, static_cast<std::size_t>(n));
    }
    throw EngineError(status, daemon_message(rest));
  }
  connection.set_pending(std::move(rest));
}

}  // namespace dockform::engine

namespace dockform::engine {

RawConnection::RawConnection(util::CurlEasy curl, int fd, std::unique_ptr<SshDialer> ssh)
    : ssh_(std::move(ssh)), curl_(std::move(curl)), fd_(fd) {}

RawConnection::~RawConnection() = default;

void RawConnection::fail(CURLcode code) const {
  std::string text = curl_easy_strerror(code);
  if (ssh_) {
    std::string said = ssh_->diagnostics();
    if (!said.empty()) text += "; ssh: " + said;
  }
  throw Error("connection to the Docker Engine failed: " + text, Exit::unreachable);
}

long RawConnection::read_some(char* buffer, std::size_t size, std::chrono::milliseconds timeout) {
  if (!pending_.empty()) {
    std::size_t n = std::min(size, pending_.size());
    std::memcpy(buffer, pending_.data(), n);
    pending_.erase(0, n);
    return static_cast<long>(n);
  }
  // Bytes taken earlier go out first; a failure to send shows on the next
  // write, while what the container already said can still be read.
  try {
    send_outgoing();
  } catch (const Error& e) {
    // Dropped here: the failure is still there on the next write, which reports it.
    spdlog::debug("engine connection: sending before a read failed: {}", e.what());
  }
  // Try first: TLS may hold decrypted bytes the socket no longer signals.
  std::size_t n = 0;
  CURLcode rc = curl_easy_recv(curl_.get(), buffer, size, &n);
  if (rc == CURLE_AGAIN) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return -1;  // the caller checks signals, retries
    rc = curl_easy_recv(curl_.get(), buffer, size, &n);
    if (rc == CURLE_AGAIN) return -1;
  }
  if (rc != CURLE_OK) fail(rc);
  return static_cast<long>(n);
}

// TLS demands that a write which could not finish is retried with the same
// bytes: outgoing_ holds them unchanged until they are sent.
bool RawConnection::send_outgoing() {
  while (!outgoing_.empty()) {
    std::size_t n = 0;
    CURLcode rc = curl_easy_send(curl_.get(), outgoing_.data(), outgoing_.size(), &n);
    if (rc == CURLE_AGAIN) return false;
    if (rc != CURLE_OK) fail(rc);
    outgoing_.erase(0, n);
  }
  return true;
}

std::size_t RawConnection::write_some(const char* data, std::size_t size) {
  if (!send_outgoing()) return 0;
  outgoing_.assign(data, std::min<std::size_t>(size, 64 * 1024));
  std::size_t taken = outgoing_.size();
  send_outgoing();
  return taken;
}

void RawConnection::flush(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!send_outgoing()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(
          "the Docker Engine stopped taking data (nothing sent for " + std::to_string(timeout.count() / 1000) + " s)",
          Exit::unreachable);
    }
    pollfd pfd{fd_, POLLOUT, 0};
    ::poll(&pfd, 1, 200);
  }
}

// Like the Docker CLI, a TCP half-close under TLS too: the daemon reads it as
// the end of stdin and keeps sending the container's output.
void RawConnection::close_write() {
  flush(std::chrono::seconds(60));
  ::shutdown(fd_, SHUT_WR);
}

}  // namespace dockform::engine
