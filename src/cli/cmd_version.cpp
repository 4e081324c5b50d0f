#include <spdlog/spdlog.h>

#include <iostream>
#include <optional>

#include "commands.hpp"
#include "dockform/engine/product.hpp"
#include "dockform/util/version.hpp"

namespace dockform::cli {

namespace {
// What `version` learns about the engine; each part may be missing, and
// none of that is an error here: version must work without manifest or engine.
struct EngineReport {
  std::optional<engine::Endpoint> endpoint;
  nlohmann::json version;  // null when not reached
  std::string error;
};

EngineReport probe(core::Session& session) {
  EngineReport report;
  try {
    report.endpoint = session.endpoint();
    report.version = session.engine().version();
  } catch (const Error& e) {
    report.error = e.what();
  }
  return report;
}

void print_text(const EngineReport& report) {
  if (report.endpoint) {
    std::cout << "endpoint " << report.endpoint->url << " (transport " << report.endpoint->transport() << ", from "
              << report.endpoint->source << ")" << std::endl;
  }
  if (!report.version.is_null()) {
    std::cout << "engine " << report.version.value("Version", "?") << " (" << engine::product_name(report.version)
              << ", API " << report.version.value("ApiVersion", "?") << ")" << std::endl;
  } else {
    std::cout << "engine not reachable: " << report.error << std::endl;
  }
}

void print_document(const EngineReport& report) {
  nlohmann::ordered_json out;
  out["version"] = version();
  out["commit"] = git_commit();
  if (report.endpoint) {
    out["endpoint"] = {{"url", report.endpoint->url},
                       {"transport", report.endpoint->transport()},
                       {"context", report.endpoint->context},
                       {"source", report.endpoint->source}};
  } else {
    out["endpoint"] = nullptr;
  }
  if (!report.version.is_null()) {
    out["engine"] = {{"version", report.version.value("Version", "")},
                     {"api_version", report.version.value("ApiVersion", "")},
                     {"product", engine::product_name(report.version)}};
  } else {
    out["engine"] = nullptr;
    out["engine_error"] = report.error;
  }
  print_json(out);
}
}  // namespace

std::string version_line() { return std::string("dockform ") + version(); }

void add_version_command(CLI::App& app, CliState& state) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "version",
      "Print dockform's version, its git commit, the engine endpoint (and why it was chosen) and its version");
  add_json_flag(cmd, *json);
  cmd->callback([&state, json] {
    state.run = [json](core::Session& session) {
      auto report = probe(session);
      if (*json) {
        print_document(report);
      } else {
        std::cout << version_line() << "\ncommit " << git_commit() << std::endl;
        print_text(report);
      }
      return 0;
    };
  });
}

}  // namespace dockform::cli
