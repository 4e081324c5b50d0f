// --ping, --webhook, --webhook-on, --metrics-file and --metrics-push of the
// commands cron runs (snapshot, restore, copy, prune), and the run around a
// command that reports its start and its end to them.
#include "notify_options.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <sstream>

#include "commands.hpp"
#include "dockform/core/keys.hpp"
#include "dockform/manifest/manifest.hpp"
#include "dockform/notify/send.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::cli {

namespace {
// The run's warning and error lines, for the summary: the first few hundred
// of each (a run with thousands of warnings says how many more there were).
class LineCollector : public spdlog::sinks::base_sink<std::mutex> {
 public:
  static constexpr std::size_t kKeep = 200;
  std::vector<std::string> errors, warnings;
  std::size_t more_errors = 0, more_warnings = 0;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    bool error = msg.level >= spdlog::level::err;
    if (!error && msg.level != spdlog::level::warn) return;
    auto& lines = error ? errors : warnings;
    if (lines.size() < kKeep) {
      lines.emplace_back(msg.payload.data(), msg.payload.size());
    } else {
      ++(error ? more_errors : more_warnings);
    }
  }
  void flush_() override {}
};

// Adds the collector to the default logger for as long as it lives.
class CollectLines {
 public:
  CollectLines() : sink_(std::make_shared<LineCollector>()) {
    sink_->set_level(spdlog::level::warn);
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CollectLines() {
    auto& sinks = spdlog::default_logger()->sinks();
    std::erase(sinks, std::static_pointer_cast<spdlog::sinks::sink>(sink_));
  }
  CollectLines(const CollectLines&) = delete;
  CollectLines& operator=(const CollectLines&) = delete;

  // Called once the command has returned: no thread logs any more.
  void into(notify::RunReport& report) const {
    report.errors.insert(report.errors.end(), sink_->errors.begin(), sink_->errors.end());
    report.warnings.insert(report.warnings.end(), sink_->warnings.begin(), sink_->warnings.end());
    if (sink_->more_errors) report.errors.push_back("... and " + std::to_string(sink_->more_errors) + " more errors");
    if (sink_->more_warnings) {
      report.warnings.push_back("... and " + std::to_string(sink_->more_warnings) + " more warnings");
    }
  }

 private:
  std::shared_ptr<LineCollector> sink_;
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : fallback;
}

void check_url(const std::string& url, const std::string& what) {
  std::string plain = url;
  for (const char* prefix : {"slack+", "discord+", "ntfy+"}) {
    if (plain.rfind(prefix, 0) == 0) plain = plain.substr(std::strlen(prefix));
  }
  if (plain.rfind("http://", 0) != 0 && plain.rfind("https://", 0) != 0) {
    throw Error(what + " must be an http:// or https:// URL, got " + notify::mask_url(url), Exit::usage);
  }
}

// Flags first, then the environment, then the manifest (when there is one:
// a missing or broken manifest is the command's own error to report).
notify::Targets resolve_targets(core::Session& session, const NotifyFlags& flags) {
  manifest::NotificationSettings manifest;
  try {
    manifest = session.manifest().notifications;
  } catch (const std::exception& e) {
    spdlog::debug("no notifications from a manifest: {}", e.what());
  }
  notify::Targets targets;
  targets.ping = !flags.ping.empty() ? flags.ping : env_or("DOCKFORM_PING_URL", manifest.ping.value_or(""));
  if (!flags.webhooks.empty()) {
    targets.webhooks = flags.webhooks;
  } else if (const char* env = std::getenv("DOCKFORM_WEBHOOK_URLS"); env && *env) {
    targets.webhooks = core::split_list(env);
  } else {
    targets.webhooks = manifest.webhooks;
  }
  std::string on = !flags.webhook_on.empty() ? flags.webhook_on
                                             : env_or("DOCKFORM_WEBHOOK_ON", manifest.webhook_on.value_or("failure"));
  if (on != "failure" && on != "always") {
    throw Error("--webhook-on takes failure or always, got '" + on + "'", Exit::usage);
  }
  targets.webhook_always = on == "always";
  targets.metrics_file = !flags.metrics_file.empty()
                             ? flags.metrics_file
                             : env_or("DOCKFORM_METRICS_FILE", manifest.metrics_file.value_or(""));
  targets.metrics_push = !flags.metrics_push.empty()
                             ? flags.metrics_push
                             : env_or("DOCKFORM_METRICS_PUSH", manifest.metrics_push.value_or(""));
  if (!targets.ping.empty()) check_url(targets.ping, "--ping");
  for (const auto& url : targets.webhooks) check_url(url, "--webhook");
  if (!targets.metrics_push.empty()) check_url(targets.metrics_push, "--metrics-push");
  return targets;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

void report_problems(const std::vector<notify::Delivery>& deliveries) {
  for (const auto& delivery : deliveries) {
    if (!delivery.problem.empty())
      spdlog::warn("notification not delivered ({}): {}", delivery.target, delivery.problem);
  }
}

// The command's --json document, with what became of each notification.
void print_result(const notify::RunReport& report, const std::vector<notify::Delivery>& deliveries,
                  bool with_notifications) {
  if (!report.print_json || report.result.is_null()) return;
  auto document = report.result;
  if (with_notifications) document["notifications"] = notify::deliveries_json(deliveries);
  print_json(document);
}
}  // namespace

void add_notify_options(CLI::App* cmd, NotifyFlags& flags) {
  cmd->add_option("--ping", flags.ping,
                  "Report the run to a healthchecks.io-style URL: URL/start before, URL/<exit code> after, with a "
                  "summary (also DOCKFORM_PING_URL, manifest notifications.ping)");
  cmd->add_option("--webhook", flags.webhooks,
                  "POST the run's result to URL (JSON; slack+https://, discord+https://, ntfy+https:// for those "
                  "services); repeatable (also DOCKFORM_WEBHOOK_URLS, manifest notifications.webhooks)")
      ->allow_extra_args(false);
  cmd->add_option("--webhook-on", flags.webhook_on,
                  "When webhooks are sent: failure (default) or always (also DOCKFORM_WEBHOOK_ON, manifest "
                  "notifications.webhook_on)")
      ->check(CLI::IsMember({"failure", "always"}));
  cmd->add_option("--metrics-file", flags.metrics_file,
                  "Write Prometheus metrics of the run to FILE (node_exporter's textfile collector; also "
                  "DOCKFORM_METRICS_FILE, manifest notifications.metrics_file)");
  cmd->add_option("--metrics-push", flags.metrics_push,
                  "Push the metrics to a Prometheus Pushgateway at URL (also DOCKFORM_METRICS_PUSH, manifest "
                  "notifications.metrics_push)");
}

void on_notified_run(CLI::App* cmd, CliState& state, const std::string& command, const NotifyFlags& flags,
                     std::function<int(core::Session&, notify::RunReport&)> body) {
  on_run(cmd, state, [command, &flags, body = std::move(body)](core::Session& session) {
    return run_notified(session, command, flags, [&](notify::RunReport& report) { return body(session, report); });
  });
}

int run_notified(core::Session& session, const std::string& command, const NotifyFlags& flags,
                 const std::function<int(notify::RunReport&)>& body) {
  auto targets = resolve_targets(session, flags);
  if (targets.empty()) {
    notify::RunReport report;
    int rc = body(report);
    print_result(report, {}, false);
    return rc;
  }
  notify::RunReport report;
  report.command = command;
  report.host = host_name();
  report.started_at = std::time(nullptr);
  auto started = std::chrono::steady_clock::now();
  CollectLines lines;
  std::vector<notify::Delivery> deliveries;
  if (!targets.ping.empty()) {
    deliveries.push_back(notify::ping_start(targets.ping));
    report_problems(deliveries);
  }
  // The command's own exception ends the run after the report: main() prints it.
  std::exception_ptr failure;
  try {
    report.exit_code = body(report);
  } catch (const util::Interrupted& e) {
    failure = std::current_exception();
    report.exit_code = static_cast<int>(e.code());
    report.errors.push_back(e.what());
  } catch (const Error& e) {
    failure = std::current_exception();
    report.exit_code = static_cast<int>(e.code());
    report.errors.push_back(e.what());
  } catch (const std::exception& e) {
    failure = std::current_exception();
    report.exit_code = static_cast<int>(Exit::error);
    report.errors.push_back(e.what());
  }
  report.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string first_error = report.errors.empty() ? std::string("failed") : report.errors.front();
  lines.into(report);
  report.fail_unfinished(first_error);
  auto ended = notify::deliver(targets, report);
  report_problems(ended);
  deliveries.insert(deliveries.end(), ended.begin(), ended.end());
  if (failure) std::rethrow_exception(failure);
  print_result(report, deliveries, true);
  return report.exit_code;
}

}  // namespace dockform::cli
