#include "dockform/notify/send.hpp"

#include <chrono>
#include <thread>

#include "dockform/util/curl.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::notify {

namespace {
struct Attempt {
  bool ok = false;
  bool worth_retrying = false;
  std::string problem;
};

Attempt try_once(const Request& request, long timeout_ms, bool abort_on_signal, std::string* answer) {
  auto curl = util::make_curl_easy();
  util::CurlErrorBuffer error;
  util::set_basic_options(curl.get(), error);
  curl_easy_setopt(curl.get(), CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  util::CurlHeaders headers;
  for (const auto& line : request.headers) headers.add(line);
  headers.add("Expect:");  // no "100 Continue" round trip for a small body
  headers.add("User-Agent: dockform");
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  if (request.method == "GET") {
    curl_easy_setopt(curl.get(), CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  std::string body;
  util::collect_body(curl.get(), &body);
  if (abort_on_signal) util::abort_on_signal(curl.get());
  CURLcode code = curl_easy_perform(curl.get());
  if (abort_on_signal) util::throw_if_interrupted();
  if (code != CURLE_OK) {
    // A refused certificate stays refused; a connection that failed may work the next time.
    return {false, util::is_transient(code), error.describe(code)};
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (answer) *answer = body;
  if (status >= 200 && status < 300) return {true, false, ""};
  std::string problem = "HTTP " + std::to_string(status);
  if (!body.empty()) problem += ": " + body.substr(0, 200);
  return {false, status >= 500 || status == 429 || status == 408, problem};
}
}  // namespace

std::optional<std::string> send(const Request& request, const SendPolicy& policy, std::string* answer) {
  // After Ctrl-C the run still reports its end, once, within the deadline.
  bool interrupted = util::pending_signal() != 0;
  int tries = interrupted ? 1 : std::max(1, policy.tries);
  long backoff = policy.first_backoff_ms;
  Attempt last;
  for (int i = 0; i < tries; ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff *= 2;
      util::throw_if_interrupted();
    }
    try {
      last = try_once(request, policy.timeout_ms, !interrupted, answer);
    } catch (const Error& e) {
      last = {false, false, e.what()};
    }
    if (last.ok) return std::nullopt;
    if (!last.worth_retrying) break;
  }
  return request.method + " " + mask_url(request.url) + " failed: " + last.problem;
}

std::string mask_url(const std::string& url) {
  std::string out = url;
  auto scheme_end = out.find("://");
  std::size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  auto path_start = out.find_first_of("/?#", host_start);
  auto at = out.rfind('@', path_start == std::string::npos ? std::string::npos : path_start);
  if (at != std::string::npos && at >= host_start) {
    out.replace(host_start, at - host_start, "***");
  }
  auto query = out.find('?');
  if (query != std::string::npos) {
    auto fragment = out.find('#', query);
    out.replace(query + 1, (fragment == std::string::npos ? out.size() : fragment) - query - 1, "***");
  }
  return out;
}

}  // namespace dockform::notify
