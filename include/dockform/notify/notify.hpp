#pragma once
// Where a run reports to: a Healthchecks-style ping URL, webhooks, a
// Prometheus textfile and a Pushgateway.
#include <string>
#include <vector>

#include "dockform/notify/report.hpp"

namespace dockform::notify {

struct Targets {
  std::string ping;                   // healthchecks.io protocol: URL/start, then URL/<exit code>
  std::vector<std::string> webhooks;  // JSON, or slack+https://, discord+https://, ntfy+https://
  bool webhook_always = false;        // default: only failed runs post
  std::string metrics_file;           // node_exporter's textfile collector
  std::string metrics_push;           // a Pushgateway's base URL
  bool empty() const { return ping.empty() && webhooks.empty() && metrics_file.empty() && metrics_push.empty(); }
};

// One report sent (or not) to one target.
struct Delivery {
  std::string target;   // ping_start, ping, webhook, metrics_file, metrics_push
  std::string where;    // the URL (masked) or the file
  std::string problem;  // empty when delivered
};

// The request to URL/start, before any work.
Delivery ping_start(const std::string& url);
// The end of the run to every target; nothing here throws but util::Interrupted.
std::vector<Delivery> deliver(const Targets& targets, const RunReport& report);
// As --json shows them: [{"target", "where", "ok", "error"}].
nlohmann::ordered_json deliveries_json(const std::vector<Delivery>& deliveries);

// A ping URL with `suffix` added to its path ("start", "0"), before any query.
std::string ping_url(const std::string& url, const std::string& suffix);
// The request one webhook URL gets for `report` (scheme prefixes chosen here).
struct Request;
Request webhook_request(const std::string& url, const RunReport& report);

}  // namespace dockform::notify
