#include "dockform/util/curl.hpp"

#include <algorithm>
#include <charconv>
#include <mutex>

#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::util {

namespace {
// libcurl is C: its callbacks must not throw. A callback that fails returns
// a count other than the one it was given, which aborts the transfer.
std::size_t on_head_line(char* data, std::size_t size, std::size_t count, void* user) noexcept {
  try {
    static_cast<ResponseHead*>(user)->add_line(std::string_view(data, size * count));
  } catch (...) {
    return 0;
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) noexcept {
  try {
    static_cast<std::string*>(user)->append(data, size * count);
  } catch (...) {
    return 0;
  }
  return size * count;
}

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  return pending_signal() != 0 ? 1 : 0;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}
}  // namespace

CurlEasy make_curl_easy() {
  load_curl();
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CurlEasy handle(curl_easy_init());
  if (!handle) throw Error("cannot initialise libcurl");
  return handle;
}

void CurlHeaders::add(const std::string& line) {
  load_curl();
  curl_slist* grown = curl_slist_append(list_.get(), line.c_str());
  if (grown == nullptr) throw Error("cannot allocate an HTTP header");
  // On success the list grows in place (the same head) or starts with `grown`.
  static_cast<void>(list_.release());
  list_.reset(grown);
}

std::optional<long> parse_status_line(std::string_view line) {
  if (!line.starts_with("HTTP/")) return std::nullopt;
  auto space = line.find(' ');
  if (space == std::string_view::npos) return 0L;
  std::string_view rest = line.substr(space);
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  long status = 0;
  std::from_chars(rest.data(), rest.data() + rest.size(), status);
  return status;
}

std::optional<std::pair<std::string, std::string>> parse_header_line(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && is_blank(value.front())) value.remove_prefix(1);
  while (!value.empty() && (is_blank(value.back()) || value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  return std::pair{std::move(name), std::string(value)};
}

void ResponseHead::add_line(std::string_view line) {
  if (auto code = parse_status_line(line)) {
    status = *code;
  } else if (auto header = parse_header_line(line)) {
    headers[header->first] = std::move(header->second);
  }
}

void collect_head(CURL* curl, ResponseHead* head) {
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_head_line);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, head);
}

void collect_body(CURL* curl, std::string* body) {
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
}

void abort_on_signal(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
}

void CurlErrorBuffer::attach(CURL* curl) {
  text_[0] = '\0';
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, text_);
}

std::string CurlErrorBuffer::describe(CURLcode code) const {
  return text_[0] != '\0' ? std::string(text_) : std::string(curl_easy_strerror(code));
}

void set_basic_options(CURL* curl, CurlErrorBuffer& error) {
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  error.attach(curl);
}

bool is_connection_failure(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: return true;
    default: return false;
  }
}

bool is_tls_failure(CURLcode code) {
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

bool is_transient(CURLcode code) {
  return is_connection_failure(code) || code == CURLE_PARTIAL_FILE || code == CURLE_SSL_CONNECT_ERROR;
}

bool status_in(long status, std::initializer_list<long> accepted) {
  return std::find(accepted.begin(), accepted.end(), status) != accepted.end();
}

std::string url_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace dockform::util
