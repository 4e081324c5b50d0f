#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

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
    "  6  object storage (s3://) refused a request or did not answer\n";
}  // namespace

namespace dockform::cli {
void print_json(const nlohmann::ordered_json& document) { std::cout << document.dump(2) << std::endl; }

nlohmann::ordered_json path_or_null(const std::optional<std::filesystem::path>& path) {
  return path ? nlohmann::ordered_json(path->string()) : nlohmann::ordered_json(nullptr);
}

void add_read_figures(nlohmann::ordered_json& out, const std::string& checksum, std::uint64_t bytes_read,
                      std::uint64_t uncompressed_bytes, std::uint64_t file_count) {
  out["checksum"] = checksum;
  out["bytes_read"] = bytes_read;
  out["uncompressed_bytes"] = uncompressed_bytes;
  out["file_count"] = file_count;
}
}  // namespace dockform::cli

int main(int argc, char** argv) {
  using namespace dockform;
  cli::CliState state;
  CLI::App app{"dockform: snapshot and restore Docker volumes declared in a dockform manifest", "dockform"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
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

  cli::add_version_command(app, state);
  cli::add_validate_command(app, state);
  cli::add_plan_commands(app, state);
  cli::add_volume_commands(app, state);
  cli::add_completion_command(app, state);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(Exit::usage);
  }

  try {
    util::setup_logging(state.log);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.code());
  }
  util::install_signal_handlers();
  core::Session session(state.global);
  try {
    int rc = state.run ? state.run(session) : 0;
    // A result nobody could read (closed pipe) is a failure, like SIGPIPE's default.
    std::cout.flush();
    if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
      throw Error("could not write the output: " + std::string(std::strerror(errno)));
    }
    return rc;
  } catch (const util::Interrupted& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(Exit::error);
  }
}
