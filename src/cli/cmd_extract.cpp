#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.hpp"
#include "dockform/core/keys.hpp"
#include "dockform/ops/extract.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::cli {

namespace {
struct ExtractFlags {
  std::string snapshot;
  std::vector<std::string> paths;
  std::string output;
  core::IdentityFlags keys;
};

int run_extract(const ExtractFlags& flags) {
  auto identities = run_identities(flags.keys);
  auto result = ops::extract_snapshot(store::Location::parse(flags.snapshot), flags.paths, flags.output, identities);
  spdlog::debug("read {} bytes of {} ({} frames)", result.bytes_read, flags.snapshot, result.frames_read);
  // With -o - standard output is the tar: the summary goes to standard error.
  std::ostream& out = flags.output == "-" ? std::cerr : std::cout;
  out << "extracted " << result.members << " members" << (flags.output == "-" ? "" : " into " + flags.output)
      << " (read " << util::human_bytes(result.bytes_read);
  if (result.from_index) out << ", " << result.frames_read << " frames";
  out << ")" << std::endl;
  return 0;
}
}  // namespace

void add_extract_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<ExtractFlags>();
  auto* cmd = volume.add_subcommand("extract", "Extract files and folders from a snapshot, reading only their frames");
  add_snapshot_argument(cmd, flags->snapshot, false);
  cmd->add_option("path", flags->paths, "Files and folders to extract (a folder with what is below it)")->required();
  cmd->add_option("-o,--output", flags->output, "Folder to write them into, or - for a tar on standard output")
      ->required();
  add_identity_options(cmd, flags->keys);
  on_run(cmd, state, [flags](core::Session&) { return run_extract(*flags); });
}

}  // namespace dockform::cli
