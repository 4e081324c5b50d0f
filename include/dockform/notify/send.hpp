#pragma once
// Sending a notification: one HTTP request with a deadline, tried again on
// failures that may pass. A notification never changes a run's outcome, so
// every failure comes back as text for a warning, never as an exception
// (but Ctrl-C still ends the run).
#include <optional>
#include <string>
#include <vector>

namespace dockform::notify {

struct Request {
  std::string method = "POST";  // GET, POST or PUT
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
};

struct SendPolicy {
  int tries = 3;
  long timeout_ms = 10000;      // each try, connecting included
  long first_backoff_ms = 500;  // doubled after each failed try
};

// nullopt when the server answered 2xx; else what went wrong, the URL masked.
// The answer's body goes to `answer` when given.
std::optional<std::string> send(const Request& request, const SendPolicy& policy = {}, std::string* answer = nullptr);

// The URL as logs may show it: user info and query replaced by "***".
std::string mask_url(const std::string& url);

}  // namespace dockform::notify
