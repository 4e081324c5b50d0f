#include "dockform/notify/notify.hpp"

#include <spdlog/spdlog.h>

#include "dockform/notify/metrics.hpp"
#include "dockform/notify/send.hpp"

namespace dockform::notify {

namespace {
// A ping's body: Healthchecks keeps the first 100 KB of it.
constexpr std::size_t kPingBodyLimit = 100 * 1000;
// The services' own limits on one message.
constexpr std::size_t kSlackTextLimit = 39000;
constexpr std::size_t kDiscordContentLimit = 2000;
constexpr std::size_t kNtfyBodyLimit = 4096;

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::string title(const RunReport& report) {
  return "dockform " + report.command + (report.ok() ? " ok" : " FAILED") + " on " + report.host;
}
}  // namespace

std::string ping_url(const std::string& url, const std::string& suffix) {
  auto query = url.find_first_of("?#");
  std::string path = url.substr(0, query);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  if (path.empty() || path.back() != '/') path += '/';
  return path + suffix + rest;
}

Request webhook_request(const std::string& url, const RunReport& report) {
  Request request;
  if (starts_with(url, "slack+")) {
    request.url = url.substr(6);
    request.headers.push_back("Content-Type: application/json");
    request.body = nlohmann::json{{"text", summary_text(report, kSlackTextLimit)}}.dump();
  } else if (starts_with(url, "discord+")) {
    request.url = url.substr(8);
    request.headers.push_back("Content-Type: application/json");
    request.body = nlohmann::json{{"content", summary_text(report, kDiscordContentLimit)}}.dump();
  } else if (starts_with(url, "ntfy+")) {
    request.url = url.substr(5);
    request.headers.push_back("Content-Type: text/plain; charset=utf-8");
    request.headers.push_back("Title: " + title(report));
    request.headers.push_back(report.ok() ? "Tags: white_check_mark" : "Tags: warning");
    if (!report.ok()) request.headers.push_back("Priority: high");
    request.body = summary_text(report, kNtfyBodyLimit);
  } else {
    request.url = url;
    request.headers.push_back("Content-Type: application/json");
    request.body = report_json(report).dump();
  }
  return request;
}

Delivery ping_start(const std::string& url) {
  Request request;
  request.url = ping_url(url, "start");
  auto problem = send(request);
  return {"ping_start", mask_url(url), problem.value_or("")};
}

std::vector<Delivery> deliver(const Targets& targets, const RunReport& report) {
  std::vector<Delivery> out;
  if (!targets.ping.empty()) {
    Request request;
    request.url = ping_url(targets.ping, std::to_string(report.exit_code));
    request.headers.push_back("Content-Type: text/plain; charset=utf-8");
    request.body = summary_text(report, kPingBodyLimit);
    out.push_back({"ping", mask_url(targets.ping), send(request).value_or("")});
  }
  if (!report.ok() || targets.webhook_always) {
    for (const auto& url : targets.webhooks) {
      out.push_back({"webhook", mask_url(url), send(webhook_request(url, report)).value_or("")});
    }
  }
  if (!targets.metrics_file.empty()) {
    out.push_back({"metrics_file", targets.metrics_file, write_metrics_file(targets.metrics_file, report)});
  }
  if (!targets.metrics_push.empty()) {
    out.push_back({"metrics_push", mask_url(targets.metrics_push), push_metrics(targets.metrics_push, report)});
  }
  return out;
}

nlohmann::ordered_json deliveries_json(const std::vector<Delivery>& deliveries) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& delivery : deliveries) {
    out.push_back({{"target", delivery.target},
                   {"where", delivery.where},
                   {"ok", delivery.problem.empty()},
                   {"error", delivery.problem.empty() ? nlohmann::ordered_json(nullptr)
                                                      : nlohmann::ordered_json(delivery.problem)}});
  }
  return out;
}

}  // namespace dockform::notify
