#include "dockform/engine/http.hpp"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

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

HttpClient::HttpClient(Endpoint endpoint) : endpoint_(std::move(endpoint)) {
  global_init();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw Error("cannot initialise libcurl");
}

HttpClient::~HttpClient() { curl_easy_cleanup(as_curl(curl_)); }

void* HttpClient::prepare(void* handle, const std::string& method, const std::string& path, const std::string& body) {
  CURL* curl = as_curl(handle);
  curl_easy_reset(curl);
  std::string url = endpoint_.http_base() + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (endpoint_.kind == Endpoint::Kind::unix_socket) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, endpoint_.socket_path.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  set_keepalive(curl);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_slist* headers = nullptr;
  if (method != "GET" && method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, body.c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  return headers;
}

void HttpClient::fail_transport(int code, const std::string& detail) const {
  if (code == CURLE_ABORTED_BY_CALLBACK) util::throw_if_interrupted();
  std::string text = curl_easy_strerror(static_cast<CURLcode>(code));
  if (!detail.empty()) text += " (" + detail + ")";
  bool unreachable = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
                     code == CURLE_OPERATION_TIMEDOUT || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR ||
                     code == CURLE_GOT_NOTHING;
  throw Error("cannot reach the Docker Engine at " + endpoint_.url + ": " + text,
              unreachable ? Exit::unreachable : Exit::error);
}

Response HttpClient::request(const std::string& method, const std::string& path, const std::string& json_body,
                             std::chrono::milliseconds timeout) {
  Response response;
  Transfer transfer;
  transfer.body = &response.body;
  transfer.headers = &response.headers;
  auto* headers = static_cast<curl_slist*>(prepare(curl_, method, path, json_body));
  CURL* curl = as_curl(curl_);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

long HttpClient::stream(const std::string& method, const std::string& path, const std::string& json_body,
                        const std::function<void(std::string_view)>& on_data, std::string* error_body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw Error("cannot initialise libcurl");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> owner(curl, curl_easy_cleanup);
  std::string body;
  Transfer transfer;
  transfer.body = &body;
  transfer.on_data = &on_data;
  auto* headers = static_cast<curl_slist*>(prepare(curl, method, path, json_body));
  // Long streams end early on SIGINT/SIGTERM; control calls (cleanup included) do not.
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (transfer.error) std::rethrow_exception(transfer.error);
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (error_body != nullptr) *error_body = body;
  return status;
}

std::unique_ptr<RawConnection> HttpClient::hijack(const std::string& method, const std::string& path,
                                                  const std::string& json_body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw Error("cannot initialise libcurl");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> owner(curl, curl_easy_cleanup);
  std::string url = endpoint_.http_base() + "/";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (endpoint_.kind == Endpoint::Kind::unix_socket) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, endpoint_.socket_path.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  set_keepalive(curl);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) fail_transport(rc, method + " " + path);
  curl_socket_t socket = CURL_SOCKET_BAD;
  curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &socket);
  if (socket == CURL_SOCKET_BAD) throw Error("cannot open a raw connection to " + endpoint_.url);

  std::string request = method + " " + path + " HTTP/1.1\r\nHost: docker\r\n" +
                        "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
  auto connection = std::make_unique<RawConnection>(owner.release(), socket);
  std::size_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // No signal checks here: cleanup after SIGINT attaches to helpers too.
  while (sent < request.size()) {
    if (std::chrono::steady_clock::now() > deadline) throw Error("timed out sending " + path + " to " + endpoint_.url);
    pollfd pfd{socket, POLLOUT, 0};
    ::poll(&pfd, 1, 200);
    sent += connection->write_some(request.data() + sent, request.size() - sent);
  }
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
  if (auto space = head.find(' '); space != std::string::npos) status = std::strtol(head.c_str() + space + 1, nullptr, 10);
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

RawConnection::RawConnection(void* curl, int fd) : curl_(curl), fd_(fd) {}

RawConnection::~RawConnection() { curl_easy_cleanup(as_curl(curl_)); }

long RawConnection::read_some(char* buffer, std::size_t size, std::chrono::milliseconds timeout) {
  if (!pending_.empty()) {
    std::size_t n = std::min(size, pending_.size());
    std::memcpy(buffer, pending_.data(), n);
    pending_.erase(0, n);
    return static_cast<long>(n);
  }
  pollfd pfd{fd_, POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return -1;  // timeout or EINTR: the caller checks for signals and retries
  ssize_t n = ::recv(fd_, buffer, size, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return -1;
    throw Error(std::string("connection to the Docker Engine failed: ") + std::strerror(errno));
  }
  return static_cast<long>(n);
}

std::size_t RawConnection::write_some(const char* data, std::size_t size) {
  ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    throw Error(std::string("connection to the Docker Engine failed: ") + std::strerror(errno));
  }
  return static_cast<std::size_t>(n);
}

void RawConnection::close_write() { ::shutdown(fd_, SHUT_WR); }

}  // namespace dockform::engine
