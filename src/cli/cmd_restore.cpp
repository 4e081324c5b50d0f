#include <iostream>

#include "commands.hpp"
#include "dockform/core/keys.hpp"
#include "dockform/ops/restore.hpp"
#include "dockform/util/progress.hpp"
#include "notify_options.hpp"

namespace dockform::cli {

namespace {
struct RestoreFlags {
  std::string volume;
  std::string snapshot;
  std::vector<std::string> paths;
  bool force = false;
  bool stop_containers = false;
  std::optional<int> stop_timeout;
  bool no_privileged_bits = false;
  core::IdentityFlags keys;
  std::string sidecar_file;
  bool json = false;
  NotifyFlags notify;
};

nlohmann::ordered_json result_json(const ops::RestoreResult& result) {
  nlohmann::ordered_json out;
  out["volume"] = result.volume;
  out["snapshot"] = result.snapshot;
  out["paths"] = result.paths;
  out["sidecar"] = path_or_null(result.sidecar_file);
  out["checksum_verified"] = result.checksum_verified;
  out["encrypted"] = result.encrypted;
  add_read_figures(out, result.checksum, result.bytes_read, result.uncompressed_bytes, result.file_count);
  out["duration_seconds"] = result.seconds;
  out["downtime_seconds"] = result.downtime_seconds;
  out["containers_stopped"] = result.containers_stopped;
  out["containers_started"] = result.containers_started;
  out["recovered"] = result.recovered;
  out["warnings"] = result.warnings;
  return out;
}

int run_restore(core::Session& session, const RestoreFlags& flags, notify::RunReport& report) {
  report.begin(flags.volume);
  const auto& manifest = session.manifest();
  if (!manifest.declares_volume(flags.volume)) {
    throw Error("volume " + flags.volume + " is not defined in manifest " + manifest.file.string() +
                " (volumes must be declared to be restored)");
  }
  ops::RestoreOptions options;
  options.volume = flags.volume;
  bool from_stdin =
      snapshot_from_stdin(flags.snapshot, flags.sidecar_file,
                          "ssh HOST dockform volume snapshot VOLUME -o - | dockform volume restore VOLUME -");
  options.snapshot = store::Location::parse(flags.snapshot);
  options.paths = ops::restore_paths(flags.paths);
  options.sidecar_file = flags.sidecar_file;
  options.force = flags.force;
  options.stop_containers = flags.stop_containers;
  options.stop_timeout = flags.stop_timeout;
  options.no_privileged_bits = flags.no_privileged_bits;
  options.helper_image = session.helper_image();
  options.identities = run_identities(flags.keys);
  auto result = ops::restore_snapshot(session.engine(), options);
  notify::VolumeOutcome outcome;
  outcome.volume = result.volume;
  outcome.seconds = result.seconds;
  outcome.stored_bytes = result.bytes_read;
  outcome.tar_bytes = result.uncompressed_bytes;
  outcome.files = result.file_count;
  report.succeeded(outcome);
  report.result = result_json(result);
  report.print_json = flags.json;
  if (flags.json) return 0;
  std::cout << "restored ";
  for (const auto& path : result.paths) std::cout << path << (&path == &result.paths.back() ? " from " : ", ");
  std::cout << (from_stdin ? std::string("standard input") : result.snapshot) << " into volume " << result.volume
            << "\n  " << result.file_count << " files, " << util::human_bytes(result.uncompressed_bytes) << " in "
            << result.seconds << " s, checksum "
            << (result.checksum_verified ? "verified" : "not verified (no sidecar)");
  if (!result.containers_stopped.empty()) {
    std::cout << "\n  containers stopped for " << result.downtime_seconds << " s and started again:";
    for (const auto& name : result.containers_started) std::cout << " " << name;
  }
  std::cout << std::endl;
  return 0;
}
}  // namespace

void add_restore_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<RestoreFlags>();
  auto* cmd = volume.add_subcommand("restore", "Restore a snapshot (.tar.zst, .tar.zst.age or .tar) into a volume");
  cmd->add_option("volume", flags->volume, "Volume to restore into")->required();
  add_snapshot_argument(cmd, flags->snapshot, true);
  add_stdin_sidecar_option(cmd, flags->sidecar_file);
  cmd->add_option("--path", flags->paths,
                  "Replace only this file or folder (its whole subtree) inside the volume; repeatable")
      ->allow_extra_args(false);  // one path per --path: the volume and the snapshot are no paths
  cmd->add_flag("--force", flags->force, "Replace the content of a non-empty volume (not needed with --path)");
  cmd->add_flag("--stop-containers", flags->stop_containers,
                "Stop the containers that use the volume for the swap and start the running ones again");
  cmd->add_option("--stop-timeout", flags->stop_timeout,
                  "Seconds a stopped container gets before it is killed (default: its own stop timeout)")
      ->check(CLI::Range(0, 86400));
  cmd->add_flag("--no-privileged-bits", flags->no_privileged_bits,
                "For archives made elsewhere: restore no setuid/setgid bits, file capabilities or device nodes "
                "(a warning each)");
  add_identity_options(cmd, flags->keys);
  add_json_flag(cmd, flags->json);
  add_notify_options(cmd, flags->notify);
  on_notified_run(cmd, state, "restore", flags->notify, [flags](core::Session& session, notify::RunReport& report) {
    return run_restore(session, *flags, report);
  });
}

}  // namespace dockform::cli
