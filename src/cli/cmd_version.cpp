#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.hpp"
#include "dockform/engine/product.hpp"
#include "dockform/util/version.hpp"

namespace dockform::cli {

void add_version_command(CLI::App& app, CliState& state) {
  auto* cmd = app.add_subcommand("version", "Print dockform's version, its git commit and the engine's version");
  cmd->callback([&state] {
    state.run = [](core::Session& session) {
      std::cout << "dockform " << version() << " (commit " << git_commit() << ")" << std::endl;
      // The engine is optional here: version must work without a manifest or engine.
      try {
        auto engine_version = session.engine().version();
        std::cout << "engine " << engine_version.value("Version", "?") << " ("
                  << engine::product_name(engine_version) << ", API " << engine_version.value("ApiVersion", "?")
                  << ") at " << session.engine().endpoint().url
                  << std::endl;
      } catch (const Error& e) {
        std::cout << "engine not reachable: " << e.what() << std::endl;
      }
      return 0;
    };
  });
}

}  // namespace dockform::cli
