#include <iostream>

#include "commands.hpp"
#include "dockform/util/version.hpp"

namespace dockform::cli {

namespace {
constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0  success\n"
    "  1  error\n"
    "  2  usage error (bad flags or arguments)\n"
    "  3  refused for safety (non-empty volume, containers in use, checksum mismatch, unsafe or damaged\n"
    "     archive, another restore running, not enough space)\n"
    "  4  Docker Engine unreachable\n"
    "  5  manifest missing or invalid\n"
    "  6  object storage (s3://) refused a request or did not answer\n"
    "  7  volume list --max-age: a volume's newest snapshot is too old, or it has none\n";
}  // namespace

void print_json(const nlohmann::ordered_json& document) { std::cout << document.dump(2) << std::endl; }

nlohmann::ordered_json path_or_null(const std::optional<std::string>& path) {
  return path ? nlohmann::ordered_json(*path) : nlohmann::ordered_json(nullptr);
}

void add_read_figures(nlohmann::ordered_json& out, const std::string& checksum, std::uint64_t bytes_read,
                      std::uint64_t uncompressed_bytes, std::uint64_t file_count) {
  out["checksum"] = checksum;
  out["bytes_read"] = bytes_read;
  out["uncompressed_bytes"] = uncompressed_bytes;
  out["file_count"] = file_count;
}

void define_app(CLI::App& app, CliState& state) {
  app.footer(kExitCodes);
  app.require_subcommand(1);
  // One line, as packaged tools print it; `dockform version` starts with the same line.
  app.set_version_flag("--version", version_line(), "Print dockform's version and exit");
  // Global flags are accepted after the command too: `dockform volume list -c DIR`.
  app.fallthrough();
  app.add_option("-c,--config", state.global.config, "Manifest file, or a folder holding dockform.yml");
  app.add_option("--log-level", state.log.level, "debug|info|warn|error")->capture_default_str();
  app.add_option("--log-format", state.log.format, "auto|pretty|json")->capture_default_str();
  app.add_option("--log-file", state.log.file, "Also write JSON log lines to FILE");
  app.add_flag("--no-color", state.log.no_color, "No colour (also when NO_COLOR is set)");
  app.add_flag("-v,--verbose", state.log.verbose, "Debug logging");
  app.add_option("--helper-image", state.global.helper_image,
                 "Helper image for volume I/O (also DOCKFORM_HELPER_IMAGE, manifest docker.helper_image)");

  add_version_command(app, state);
  add_validate_command(app, state);
  add_plan_commands(app, state);
  add_volume_commands(app, state);
  add_repo_commands(app, state);
  add_completion_command(app, state);
}

}  // namespace dockform::cli
