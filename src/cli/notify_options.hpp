#pragma once
// The notification flags of the commands cron runs, and the run that reports
// to them (docs/cron.md).
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "dockform/core/session.hpp"
#include "dockform/notify/notify.hpp"

namespace dockform::cli {

struct NotifyFlags {
  std::string ping;
  std::vector<std::string> webhooks;
  std::string webhook_on;
  std::string metrics_file;
  std::string metrics_push;
};

void add_notify_options(CLI::App* cmd, NotifyFlags& flags);

// Runs `body` (the command) between the start ping and the end's reports.
// The report's exit code is body's, or the code of what it threw (rethrown
// after the reports). No notification target: just body. A notification that
// fails is a warning; it never changes the exit code.
int run_notified(core::Session& session, const std::string& command, const NotifyFlags& flags,
                 const std::function<int(notify::RunReport&)>& body);

// on_run (commands.hpp) for the commands cron runs: `body` inside run_notified.
struct CliState;
void on_notified_run(CLI::App* cmd, CliState& state, const std::string& command, const NotifyFlags& flags,
                     std::function<int(core::Session&, notify::RunReport&)> body);

}  // namespace dockform::cli
