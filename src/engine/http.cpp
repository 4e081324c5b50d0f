#include "dockform/engine/http.hpp"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "dockform/engine/ssh.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::engine {

namespace {
CURL* as_curl(void* handle) { return static_cast<CURL*>(handle); }

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The caller's callbacks may throw; libcurl is C, so exceptions are parked
// here and rethrown after curl_easy_perform returns.
struct Transfer {
  std::string* body = nullptr;
  const std::function<void(std::string_view)>* on_data = nullptr;
  long status = 0;
  std::map<std::string, std::string>* headers = nullptr;
  std::exception_ptr error;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  try {
    std::string_view chunk(data, bytes);
    if (transfer->on_data != nullptr && transfer->status < 400) {
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

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    auto space = line.find(' ');
    if (space != std::string::npos) transfer->status = std::strtol(line.c_str() + space + 1, nullptr, 10);
  } else if (auto colon = line.find(':'); colon != std::string::npos && transfer->headers != nullptr) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    (*transfer->headers)[name] = value;
  }
  return bytes;
}

bool is_tls_failure(int code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED: return true;
    default: return false;
  }
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

// Owns a request's header list: freed after the transfer, also when it throws.
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// A TCP engine that vanished (machine down, network gone) sends nothing, not
// even a reset: keepalive probes notice it within about two minutes.
void set_keepalive(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 10L);
}

// Lets SIGINT/SIGTERM abort a long transfer.
int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) { return util::pending_signal() != 0 ? 1 : 0; }
}  // namespace

std::string daemon_message(const std::string& body) {
  try {
    auto json = nlohmann::json::parse(body);
    if (json.is_object() && json.contains("message") && json["message"].is_string()) {
      return json["message"].get<std::string>();
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
  global_init();
  ssh_ = make_dialer();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw Error("cannot initialise libcurl");
}

// libcurl first: closing its connections ends their ssh processes.
HttpClient::~HttpClient() { curl_easy_cleanup(as_curl(curl_)); }

std::unique_ptr<SshDialer> HttpClient::make_dialer() const {
  if (endpoint_.kind != Endpoint::Kind::ssh) return nullptr;
  return std::make_unique<SshDialer>(ssh_command(endpoint_, env_));
}

void HttpClient::connection_options(void* handle, SshDialer* ssh) {
  CURL* curl = as_curl(handle);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  set_keepalive(curl);
  error_text_[0] = '\0';
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text_);
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

void* HttpClient::prepare(void* handle, const std::string& method, const std::string& path, const std::string& body,
                          SshDialer* ssh, const std::string& content_type) {
  CURL* curl = as_curl(handle);
  curl_easy_reset(curl);
  std::string url = endpoint_.http_base() + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  connection_options(curl, ssh);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  HeaderList headers(nullptr, curl_slist_free_all);
  auto add = [&headers](const char* line) {
    curl_slist* grown = curl_slist_append(headers.get(), line);
    if (grown == nullptr) throw Error("cannot allocate an HTTP header");
    headers.release();
    headers.reset(grown);
  };
  if (method != "GET" && method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, body.c_str());
    add(("Content-Type: " + content_type).c_str());
  }
  add("Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  return headers.release();
}

void HttpClient::fail_transport(int code, const std::string& detail, SshDialer* ssh) const {
  if (code == CURLE_ABORTED_BY_CALLBACK) util::throw_if_interrupted();
  std::string text =
      error_text_[0] != '\0' ? std::string(error_text_) : curl_easy_strerror(static_cast<CURLcode>(code));
  if (is_tls_failure(code)) text = "TLS failed: " + text;
  if (!detail.empty()) text += " (" + detail + ")";
  if (ssh != nullptr) {
    std::string said = ssh->diagnostics();
    text += said.empty() ? "; ssh printed nothing" : "; ssh: " + said;
  }
  bool unreachable = ssh != nullptr || is_tls_failure(code) || code == CURLE_COULDNT_CONNECT ||
                     code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_OPERATION_TIMEDOUT ||
                     code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING ||
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
  Transfer transfer;
  transfer.body = &response.body;
  transfer.headers = &response.headers;
  HeaderList headers(static_cast<curl_slist*>(prepare(curl_, method, path, body, ssh_.get(), content_type)),
                     curl_slist_free_all);
  CURL* curl = as_curl(curl_);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path, ssh_.get());
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

long HttpClient::stream(const std::string& method, const std::string& path, const std::string& json_body,
                        const std::function<void(std::string_view)>& on_data, std::string* error_body,
                        bool interruptible) {
  auto ssh = make_dialer();  // declared first: outlives the handle whose sockets it owns
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw Error("cannot initialise libcurl");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> owner(curl, curl_easy_cleanup);
  std::string body;
  Transfer transfer;
  transfer.body = &body;
  transfer.on_data = &on_data;
  HeaderList headers(static_cast<curl_slist*>(prepare(curl, method, path, json_body, ssh.get())), curl_slist_free_all);
  // Long streams end early on SIGINT/SIGTERM; control calls (cleanup included) do not.
  if (interruptible) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  CURLcode rc = curl_easy_perform(curl);
  if (transfer.error) std::rethrow_exception(transfer.error);
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path, ssh.get());
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (error_body != nullptr) *error_body = body;
  return status;
}

std::unique_ptr<RawConnection> HttpClient::hijack(const std::string& method, const std::string& path,
                                                  const std::string& json_body) {
  auto ssh = make_dialer();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw Error("cannot initialise libcurl");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> owner(curl, curl_easy_cleanup);
  std::string url = endpoint_.http_base() + "/";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  connection_options(curl, ssh.get());
  // libcurl connects (and does the TLS handshake); the request is ours.
  curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path, ssh.get());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // error_text_ is for this client's calls only
  curl_socket_t socket = CURL_SOCKET_BAD;
  curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &socket);
  if (socket == CURL_SOCKET_BAD) throw Error("cannot open a raw connection to " + endpoint_.url);

  std::string request = method + " " + path + " HTTP/1.1\r\nHost: docker\r\n" +
                        "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
  auto connection = std::make_unique<RawConnection>(owner.release(), socket, std::move(ssh));
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
  // Read the response head; whatever follows it already belongs to the stream.
  std::string head;
  char buffer[4096];
  std::size_t end = std::string::npos;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline || head.size() > 65536) {
      throw Error("no answer from the Docker Engine at " + endpoint_.url + " to " + path, Exit::unreachable);
    }
    long n = connection->read_some(buffer, sizeof buffer, std::chrono::milliseconds(200));
    if (n == 0) throw Error("the Docker Engine closed the connection for " + path, Exit::unreachable);
    if (n > 0) head.append(buffer, static_cast<std::size_t>(n));
  }
  long status = 0;
  if (auto space = head.find(' '); space != std::string::npos)
    status = std::strtol(head.c_str() + space + 1, nullptr, 10);
  std::string rest = head.substr(end + 4);
  if (status != 101 && status != 200) {
    // Error answers are small; the body follows the head (maybe not all read yet).
    auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (rest.find('}') == std::string::npos && std::chrono::steady_clock::now() < stop) {
      long n = connection->read_some(buffer, sizeof buffer, std::chrono::milliseconds(100));
      if (n == 0) break;
      if (n > 0) rest.append(buffer, static_cast<std::size_t>(n));
    }
    throw EngineError(status, daemon_message(rest));
  }
  connection->set_pending(std::move(rest));
  return connection;
}

}  // namespace dockform::engine

namespace dockform::engine {

RawConnection::RawConnection(void* curl, int fd, std::unique_ptr<SshDialer> ssh)
    : curl_(curl), fd_(fd), ssh_(std::move(ssh)) {}

// libcurl first: closing its socket ends the ssh process (ssh_ goes after).
RawConnection::~RawConnection() { curl_easy_cleanup(as_curl(curl_)); }

void RawConnection::fail(int code) const {
  std::string text = curl_easy_strerror(static_cast<CURLcode>(code));
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
  } catch (const Error&) {
  }
  // Try first: TLS may hold decrypted bytes the socket no longer signals.
  std::size_t n = 0;
  CURLcode rc = curl_easy_recv(as_curl(curl_), buffer, size, &n);
  if (rc == CURLE_AGAIN) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return -1;  // the caller checks signals, retries
    rc = curl_easy_recv(as_curl(curl_), buffer, size, &n);
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
    CURLcode rc = curl_easy_send(as_curl(curl_), outgoing_.data(), outgoing_.size(), &n);
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
