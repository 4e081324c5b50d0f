#include <iostream>

#include "commands.hpp"

namespace dockform::cli {

void add_validate_command(CLI::App& app, CliState& state) {
  auto* cmd = app.add_subcommand("validate", "Check the manifest, and that the Docker Engine answers");
  cmd->callback([&state] {
    state.run = [](core::Session& session) {
      const auto& manifest = session.manifest();
      std::cout << "manifest " << manifest.file.string() << " is valid (identifier " << manifest.identifier << ", "
                << manifest.volumes.size() << " volumes, " << manifest.networks.size() << " networks)" << std::endl;
      auto& engine = session.engine();
      std::cout << "engine at " << engine.endpoint().url << " answers (API " << engine.api_version() << ")"
                << std::endl;
      return 0;
    };
  });
}

}  // namespace dockform::cli
