#include <iostream>

#include "commands.hpp"
#include "dockform/engine/endpoint.hpp"
#include "dockform/ops/copy.hpp"
#include "dockform/util/progress.hpp"
#include "notify_options.hpp"

namespace dockform::cli {

namespace {
struct CopyFlags {
  std::string volume;
  std::string to;
  std::string as;
  bool force = false;
  bool stop_containers = false;
  std::optional<int> stop_timeout;
  bool no_privileged_bits = false;
  std::optional<int> level;
  bool json = false;
  NotifyFlags notify;
};

// --to: an endpoint URL (TLS from DOCKER_TLS_VERIFY, DOCKER_TLS and
// DOCKER_CERT_PATH, as for DOCKER_HOST) or the name of a Docker CLI context.
engine::Endpoint target_endpoint(const std::string& to) {
  if (to.find("://") == std::string::npos) {
    auto endpoint = engine::resolve_endpoint(to, manifest::process_env());
    endpoint.source = "--to context " + to;
    return endpoint;
  }
  auto endpoint = engine::resolve_endpoint("", [&to, env = manifest::process_env()](const std::string& name) {
    if (name == "DOCKER_HOST") return std::optional<std::string>(to);
    if (name == "DOCKER_CONTEXT") return std::optional<std::string>();
    return env(name);
  });
  endpoint.source = "--to";
  return endpoint;
}

int run_copy(core::Session& session, const CopyFlags& flags, notify::RunReport& report) {
  ops::CopyOptions options;
  options.volume = flags.volume;
  options.target_volume = flags.as.empty() ? flags.volume : flags.as;
  options.force = flags.force;
  options.stop_containers = flags.stop_containers;
  options.stop_timeout = flags.stop_timeout;
  options.no_privileged_bits = flags.no_privileged_bits;
  options.helper_image = session.helper_image();
  auto endpoint = target_endpoint(flags.to);
  // The stream never reaches a disk: to an engine on this machine (a Unix
  // socket) compressing costs more than it saves; over a network level 1.
  options.level = flags.level.value_or(endpoint.kind == engine::Endpoint::Kind::unix_socket ? 0 : 1);
  auto& source = session.engine();
  if (endpoint.url == session.endpoint().url && options.target_volume == options.volume) {
    throw Error("the target is the source: give another engine with --to, or another name with --as", Exit::usage);
  }
  auto target = engine::Engine::connect(endpoint);
  // The series of a copy are the target volume's: what the copy produced.
  report.begin(options.target_volume);
  auto result = ops::copy_volume(source, *target, options);
  notify::VolumeOutcome outcome;
  outcome.volume = options.target_volume;
  outcome.seconds = result.seconds;
  outcome.stored_bytes = result.restore.bytes_read;
  outcome.tar_bytes = result.restore.uncompressed_bytes;
  outcome.files = result.restore.file_count;
  report.succeeded(outcome);
  {
    nlohmann::ordered_json out;
    out["volume"] = options.volume;
    out["target"] = endpoint.url;
    out["target_volume"] = options.target_volume;
    out["created"] = result.created;
    out["checksum_verified"] = result.restore.checksum_verified;
    add_read_figures(out, result.restore.checksum, result.restore.bytes_read, result.restore.uncompressed_bytes,
                     result.restore.file_count);
    out["duration_seconds"] = result.seconds;
    out["downtime_seconds"] = result.restore.downtime_seconds;
    out["source_containers_stopped"] = result.snapshot.containers_stopped;
    out["source_containers_started"] = result.snapshot.containers_started;
    out["target_containers_stopped"] = result.restore.containers_stopped;
    out["target_containers_started"] = result.restore.containers_started;
    auto warnings = result.snapshot.warnings;
    warnings.insert(warnings.end(), result.restore.warnings.begin(), result.restore.warnings.end());
    out["warnings"] = warnings;
    report.result = out;
    report.print_json = flags.json;
    if (flags.json) return 0;
  }
  std::cout << "copied volume " << options.volume << " to " << options.target_volume << " on " << endpoint.url
            << (result.created ? " (created there like the source's)" : "") << "\n  " << result.restore.file_count
            << " files, " << util::human_bytes(result.restore.uncompressed_bytes) << " in " << result.seconds
            << " s, checksum " << (result.restore.checksum_verified ? "verified" : "not verified") << std::endl;
  return 0;
}
}  // namespace

void add_copy_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<CopyFlags>();
  auto* cmd = volume.add_subcommand("copy", "Copy a volume to another engine (or name) in one streaming pass");
  cmd->add_option("volume", flags->volume, "Volume to copy, on the manifest's engine")->required();
  cmd->add_option("--to", flags->to,
                  "Target engine: a Docker CLI context name, or unix://, tcp:// (TLS as for DOCKER_HOST), ssh://")
      ->required();
  cmd->add_option("--as", flags->as, "Name of the volume on the target (default: the same)");
  cmd->add_flag("--force", flags->force, "Replace the content of a non-empty target volume");
  cmd->add_flag("--stop-containers", flags->stop_containers,
                "Stop the source's users while it is read and the target's for the swap, and start them again");
  cmd->add_option("--stop-timeout", flags->stop_timeout,
                  "Seconds a stopped container gets before it is killed (default: its own stop timeout)")
      ->check(CLI::Range(0, 86400));
  cmd->add_flag("--no-privileged-bits", flags->no_privileged_bits,
                "Restore no setuid/setgid bits, file capabilities or device nodes on the target (a warning each)");
  cmd->add_option("--level", flags->level,
                  "zstd level of the stream, 0 for none (default: 0 to a unix:// engine, else 1)")
      ->check(CLI::Range(0, 19));
  add_json_flag(cmd, flags->json);
  add_notify_options(cmd, flags->notify);
  on_notified_run(cmd, state, "copy", flags->notify, [flags](core::Session& session, notify::RunReport& report) {
    return run_copy(session, *flags, report);
  });
}

}  // namespace dockform::cli
