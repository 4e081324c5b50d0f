#include <iostream>

#include "commands.hpp"

namespace dockform::cli {

void add_validate_command(CLI::App& app, CliState& state) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("validate", "Check the manifest, and that the Docker Engine answers");
  add_json_flag(cmd, *json);
  cmd->callback([&state, json] {
    state.run = [json](core::Session& session) {
      const auto& manifest = session.manifest();
      auto& engine = session.engine();
      if (*json) {
        nlohmann::ordered_json out;
        out["manifest"] = manifest.file.string();
        out["identifier"] = manifest.identifier;
        out["volumes"] = manifest.volumes.size();
        out["networks"] = manifest.networks.size();
        out["engine"] = engine.endpoint().url;
        out["api_version"] = engine.api_version();
        print_json(out);
        return 0;
      }
      std::cout << "manifest " << manifest.file.string() << " is valid (identifier " << manifest.identifier << ", "
                << manifest.volumes.size() << " volumes, " << manifest.networks.size() << " networks)" << std::endl;
      std::cout << "engine at " << engine.endpoint().url << " answers (API " << engine.api_version() << ")"
                << std::endl;
      return 0;
    };
  });
}

}  // namespace dockform::cli
