#include <unistd.h>

#include <iostream>

#include "commands.hpp"
#include "dockform/ops/export.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::cli {

namespace {
struct ExportFlags {
  std::string snapshot;
  std::string output;
  bool json = false;
  core::IdentityFlags keys;
};

int run_export(const ExportFlags& flags) {
  if (flags.output == "-" && ::isatty(STDOUT_FILENO)) {
    throw Error("standard output is a terminal: give -o FILE, or pipe it (-o - | ...)", Exit::usage);
  }
  if (flags.output == "-" && flags.json) throw Error("--json goes with -o FILE (- carries the data)", Exit::usage);
  run_identities(flags.keys);  // a snapshot of an encrypted repository
  auto result = ops::export_snapshot(store::Location::parse(flags.snapshot), flags.output);
  if (flags.json) {
    print_json({{"snapshot", result.snapshot},
                {"output", result.output},
                {"sha256", result.sha256},
                {"bytes", result.bytes},
                {"checked_against_sidecar", result.checked}});
    return 0;
  }
  // Standard error: standard output may be the export itself.
  std::cerr << "exported " << result.snapshot << " to " << result.output << " (" << util::human_bytes(result.bytes)
            << ", sha256 " << result.sha256 << (result.checked ? ", as its sidecar records" : ", no sidecar") << ")"
            << std::endl;
  return 0;
}
}  // namespace

void add_export_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<ExportFlags>();
  auto* cmd = volume.add_subcommand(
      "export", "Write a snapshot (a repository's too) as the standalone .tar.zst its sidecar's checksum names");
  add_snapshot_argument(cmd, flags->snapshot, false);
  cmd->add_option("-o,--output", flags->output, "A new file, or - for standard output")->required();
  add_json_flag(cmd, flags->json, "with -o FILE");
  add_identity_options(cmd, flags->keys);
  on_run(cmd, state, [flags](core::Session&) { return run_export(*flags); });
}

}  // namespace dockform::cli
