#pragma once
// The one libcurl layer: owned easy handles and header lists, libcurl's
// global initialisation (once per process), the response head, aborting a
// transfer on SIGINT/SIGTERM, error text and which failures are the
// network's, and URL percent-encoding.
//
// It lives in util/ and not in engine/ because its two users sit in two
// layers: the Docker Engine client (engine/http.cpp) and the S3 client
// (store/s3/s3_client.cpp). The S3 client has nothing to do with the Engine, and
// util/ is the layer both may import.
#include <curl/curl.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dockform::util {

struct CurlEasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
// An easy handle (libcurl's CURL), cleaned up by its owner.
using CurlEasy = std::unique_ptr<CURL, CurlEasyCleanup>;

// Opens libcurl (once, thread-safe): the binary is not linked with it, so
// that commands without network start fast (src/util/curl_library.cpp).
// Throws Error when the library cannot be loaded. make_curl_easy and
// CurlHeaders::add call it; every other libcurl call needs their results.
void load_curl();

// A new easy handle; libcurl is loaded and its global initialisation runs
// before the first one (once, thread-safe). Throws Error when libcurl cannot
// be loaded or make one.
CurlEasy make_curl_easy();

// A request's header list (curl_slist), freed with its owner: also when the
// request throws before or after the transfer.
class CurlHeaders {
 public:
  // Adds "Name: value" ("Name:" removes a header libcurl would send).
  // Throws Error when out of memory.
  void add(const std::string& line);
  curl_slist* get() const { return list_.get(); }

 private:
  struct Free {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };
  std::unique_ptr<curl_slist, Free> list_;
};

// The status of an HTTP status line ("HTTP/1.1 404 Not Found" gives 404; 0
// when no number follows); nullopt when `line` is not a status line.
std::optional<long> parse_status_line(std::string_view line);
// A header line "Name: value\r\n" as {"name", "value"}: the name lower-cased,
// blanks (spaces, tabs) around the value and the line end removed. nullopt
// for a line without a colon (a status line, the empty line that ends a head).
std::optional<std::pair<std::string, std::string>> parse_header_line(std::string_view line);

// A response head as libcurl hands it over, line by line.
struct ResponseHead {
  long status = 0;                             // of the last status line: after "100 Continue", the final answer's
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated name keeps its last value
  void add_line(std::string_view line);
};

// Points the handle's header callback at `head`.
void collect_head(CURL* curl, ResponseHead* head);
// Points the handle's body callback at `body` (appended to).
void collect_body(CURL* curl, std::string* body);
// Makes SIGINT/SIGTERM abort the transfer: curl_easy_perform then returns
// CURLE_ABORTED_BY_CALLBACK (and util::throw_if_interrupted throws).
void abort_on_signal(CURL* curl);

// libcurl's own words for a failed call (CURLOPT_ERRORBUFFER).
class CurlErrorBuffer {
 public:
  // Empties the buffer and hands it to the handle; detach() before the
  // buffer goes if the handle lives on.
  void attach(CURL* curl);
  static void detach(CURL* curl) { curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr); }
  // libcurl's detail if it wrote one, else the code's generic text.
  std::string describe(CURLcode code) const;

 private:
  char text_[CURL_ERROR_SIZE] = {};
};

// What both clients set on a handle: no signals (threads), a 10 s connect
// timeout, the error buffer.
void set_basic_options(CURL* curl, CurlErrorBuffer& error);

// The server could not be reached or the connection broke: refused, name not
// resolved, timed out, reset or closed while sending or receiving, or closed
// without an answer.
bool is_connection_failure(CURLcode code);
// The TLS handshake or the certificates failed.
bool is_tls_failure(CURLcode code);
// Worth trying again: a connection failure, a body cut short, or a TLS
// handshake that broke off (not a refused certificate).
bool is_transient(CURLcode code);

// True when `status` is one of `accepted`.
bool status_in(long status, std::initializer_list<long> accepted);

// Percent-encoding (RFC 3986): the unreserved characters A-Z a-z 0-9 - _ . ~
// stay, and '/' when `keep_slash`; every other byte becomes %XX (upper-case
// hex). Exactly the set AWS SigV4 canonical URIs and query strings require;
// the Engine's path segments and query values use it too. ASCII only,
// whatever the locale.
std::string url_encode(std::string_view text, bool keep_slash = false);

}  // namespace dockform::util
