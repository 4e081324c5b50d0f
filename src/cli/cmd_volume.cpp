#include <unistd.h>

#include "commands.hpp"

namespace dockform::cli {

store::Location snapshot_base(core::Session& session, const std::string& output_flag) {
  if (!output_flag.empty()) return store::Location::parse(output_flag);
  const auto& manifest = session.manifest();
  if (!manifest.snapshots.destination) return store::Location::local(manifest.dir / ".dockform" / "snapshots");
  const std::string& destination = *manifest.snapshots.destination;
  auto location = store::Location::parse(destination);
  if (location.is_stream()) {
    throw Error(manifest.file.string() +
                    ": snapshots.destination: - (a stream) is no place for snapshots; give a "
                    "folder or s3://BUCKET[/PREFIX]",
                Exit::manifest);
  }
  // A folder is relative to the manifest's, as every path in the manifest is.
  if (location.is_local()) return store::Location::local(manifest.dir / destination);
  return location;
}

bool snapshot_from_stdin(const std::string& snapshot, const std::string& sidecar_file, const std::string& example) {
  bool from_stdin = snapshot == "-";
  if (from_stdin && ::isatty(STDIN_FILENO)) {
    throw Error("standard input is a terminal: pipe the snapshot in (e.g. " + example + ") or give a file",
                Exit::usage);
  }
  if (!from_stdin && !sidecar_file.empty()) {
    throw Error("--sidecar FILE goes with - (standard input); a file's sidecar is found beside it", Exit::usage);
  }
  return from_stdin;
}

void add_volume_commands(CLI::App& app, CliState& state) {
  auto* volume = app.add_subcommand("volume", "Snapshot and restore Docker volumes");
  volume->require_subcommand(1);
  volume->fallthrough();
  add_snapshot_command(*volume, state);
  add_restore_command(*volume, state);
  add_list_command(*volume, state);
  add_verify_command(*volume, state);
  add_ls_command(*volume, state);
  add_extract_command(*volume, state);
  add_prune_command(*volume, state);
  add_unlock_command(*volume, state);
  add_copy_command(*volume, state);
  add_export_command(*volume, state);
}

}  // namespace dockform::cli
