#include <spdlog/spdlog.h>

#include <unistd.h>

#include <iostream>

#include "commands.hpp"
#include "dockform/core/keys.hpp"
#include "dockform/ops/snapshot.hpp"
#include "dockform/ops/snapshot_stream.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/progress.hpp"
#include "notify_options.hpp"

namespace dockform::cli {

namespace {
struct SnapshotFlags {
  std::string volume;
  bool all = false;
  std::string output;
  std::string note;
  bool note_given = false;
  int level = 3;
  bool stop_containers = false;
  std::optional<int> stop_timeout;
  std::optional<int> hook_timeout;
  std::vector<std::string> excludes;
  bool if_changed = false;
  bool full_read = false;
  core::RecipientFlags keys;
  std::string sidecar_file;
  bool json = false;
  NotifyFlags notify;
};

// `-o -`: the snapshot is the only thing on standard output, and goes to a
// file or a pipe. Refused combinations say what to use instead.
void check_stream_flags(const SnapshotFlags& flags) {
  bool streaming = flags.output == "-";
  if (!streaming) {
    if (!flags.sidecar_file.empty()) throw Error("--sidecar FILE goes with -o - (standard output)", Exit::usage);
    return;
  }
  if (flags.all) throw Error("-o - takes one volume: one stream holds one snapshot, not --all", Exit::usage);
  if (flags.json) {
    throw Error(
        "--json prints on standard output, which -o - fills with the snapshot; the result is in the "
        "sidecar: add --sidecar FILE",
        Exit::usage);
  }
  if (flags.if_changed) throw Error("--if-changed has nothing to compare with on standard output", Exit::usage);
  if (::isatty(STDOUT_FILENO)) {
    throw Error(
        "standard output is a terminal: redirect -o - to a file or a pipe (e.g. | ssh HOST dockform "
        "volume restore VOLUME -)",
        Exit::usage);
  }
}

// The manifest's patterns for the volume (when it declares it), then --exclude's.
std::vector<std::string> excludes_for(core::Session& session, const std::string& volume,
                                      const std::vector<std::string>& given) {
  std::vector<std::string> out;
  auto declared = session.manifest().volumes.find(volume);
  if (declared != session.manifest().volumes.end()) out = declared->second.exclude;
  out.insert(out.end(), given.begin(), given.end());
  return out;
}

bool manifest_declares(core::Session& session, const std::string& volume) {
  return session.manifest().volumes.count(volume) > 0;
}

nlohmann::ordered_json hooks_json(const std::vector<volume::HookRun>& runs) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& run : runs) {
    out.push_back({{"container", run.container},
                   {"phase", run.phase},
                   {"command", run.command},
                   {"exit_code", run.exit_code},
                   {"timed_out", run.timed_out},
                   {"output", run.output},
                   {"error", run.error},
                   {"seconds", run.seconds}});
  }
  return out;
}

nlohmann::ordered_json result_json(const ops::SnapshotResult& result) {
  nlohmann::ordered_json out;
  out["volume"] = result.sidecar.volume_name;
  out["unchanged"] = result.unchanged;
  out["data_file"] = result.data_file;
  out["sidecar_file"] = result.sidecar_file;
  out["encrypted"] = result.sidecar.encryption.has_value() || result.sealed;
  out["compressed_bytes"] = result.compressed_bytes;
  out["duration_seconds"] = result.seconds;
  out["containers_stopped"] = result.containers_stopped;
  out["containers_started"] = result.containers_started;
  out["sidecar"] = archive::sidecar_to_json(result.sidecar);
  out["warnings"] = result.warnings;
  out["hooks"] = hooks_json(result.hooks);
  if (!result.hook_error.empty()) out["hook_error"] = result.hook_error;
  return out;
}

// On standard error when the snapshot itself is on standard output.
void print_result(const ops::SnapshotResult& result) {
  std::ostream& out = result.data_file == "-" ? std::cerr : std::cout;
  if (result.unchanged) {
    out << "volume " << result.sidecar.volume_name << " is unchanged since " << result.data_file << ": nothing written"
        << std::endl;
    return;
  }
  out << "snapshot of " << result.sidecar.volume_name << " written to "
      << (result.data_file == "-" ? std::string("standard output") : result.data_file) << "\n"
      << "  " << result.sidecar.file_count << " files, " << util::human_bytes(result.sidecar.uncompressed_bytes)
      << " -> " << util::human_bytes(result.compressed_bytes) << " in " << result.seconds << " s, sha256 "
      << result.sidecar.checksum;
  if (const auto& encryption = result.sidecar.encryption) {
    out << "\n  encrypted (age) "
        << (encryption->passphrase ? std::string("with a passphrase")
                                   : "to " + std::to_string(encryption->recipients.size()) + " recipient(s)");
  }
  out << std::endl;
}

notify::VolumeOutcome outcome_of(const ops::SnapshotResult& result) {
  notify::VolumeOutcome outcome;
  outcome.volume = result.sidecar.volume_name;
  outcome.seconds = result.seconds;
  outcome.stored_bytes = result.compressed_bytes;
  outcome.tar_bytes = result.sidecar.uncompressed_bytes;
  outcome.files = result.sidecar.file_count;
  return outcome;
}

// The options every volume of the run shares; keys first: a bad key or file
// fails the run before any work.
ops::SnapshotOptions shared_options(core::Session& session, const SnapshotFlags& flags) {
  ops::SnapshotOptions options;
  options.base = snapshot_base(session, flags.output);
  store::check_sink_settings(options.base);
  ops::compression_threads();  // a bad DOCKFORM_ZSTD_THREADS fails here, not mid-run
  if (flags.note_given) options.note = flags.note;
  options.level = flags.level;
  options.stop_containers = flags.stop_containers;
  options.stop_timeout = flags.stop_timeout;
  options.hook_timeout = flags.hook_timeout;
  options.helper_image = session.helper_image();
  options.if_changed = flags.if_changed;
  options.full_read = flags.full_read;
  options.full_read_every = session.manifest().snapshots.full_read_every;
  options.sidecar_file = flags.sidecar_file;
  auto recipients = core::resolve_recipients(flags.keys, &session.manifest(), manifest::process_env());
  options.recipients = std::move(recipients.keys);
  if (!options.recipients.empty()) {
    spdlog::info("encrypting snapshots (age) to the recipients from {}", recipients.source);
  }
  return options;
}

int snapshot_one(core::Session& session, const SnapshotFlags& flags, ops::SnapshotOptions& options,
                 notify::RunReport& report) {
  options.volume = flags.volume;
  options.excludes = excludes_for(session, flags.volume, flags.excludes);
  options.declared = manifest_declares(session, flags.volume);
  report.begin(flags.volume);
  auto result = ops::take_snapshot(session.engine(), options);
  report.result = result_json(result);
  report.print_json = flags.json;
  if (!flags.json) print_result(result);
  // A failed post hook: the snapshot stays, but the run did not go well.
  if (!result.hook_error.empty()) {
    report.failed(flags.volume, result.hook_error);
    return static_cast<int>(Exit::error);
  }
  report.succeeded(outcome_of(result));
  return 0;
}

// --all goes on after a failure and reports every volume at the end.
int snapshot_all(core::Session& session, const SnapshotFlags& flags, ops::SnapshotOptions& options,
                 notify::RunReport& report) {
  nlohmann::ordered_json written = nlohmann::ordered_json::array();
  nlohmann::ordered_json failed = nlohmann::ordered_json::array();
  for (const auto& [name, declared] : session.manifest().volumes) {
    options.volume = name;
    options.excludes = excludes_for(session, name, flags.excludes);
    options.declared = true;
    report.begin(name);
    try {
      auto result = ops::take_snapshot(session.engine(), options);
      written.push_back(result_json(result));
      if (!flags.json) print_result(result);
      if (!result.hook_error.empty()) {
        failed.push_back({{"volume", name}, {"error", result.hook_error}});
        report.failed(name, result.hook_error);
      } else {
        report.succeeded(outcome_of(result));
      }
    } catch (const std::exception& e) {  // util::Interrupted is no std::exception: Ctrl-C ends the loop
      spdlog::error("snapshot of {} failed: {}", name, e.what());
      failed.push_back({{"volume", name}, {"error", e.what()}});
      report.failed(name, e.what());
    }
  }
  report.result = {{"snapshots", written}, {"failed", failed}};
  report.print_json = flags.json;
  if (!flags.json) {
    std::cout << "snapshot --all: " << written.size() << " written, " << failed.size() << " failed";
    for (const auto& failure : failed) std::cout << "\n  failed: " << failure["volume"].get<std::string>();
    std::cout << std::endl;
  }
  return failed.empty() ? 0 : static_cast<int>(Exit::error);
}

int run_snapshot(core::Session& session, const SnapshotFlags& flags, notify::RunReport& report) {
  if (flags.all == !flags.volume.empty()) throw Error("give either a volume name or --all", Exit::usage);
  check_stream_flags(flags);
  auto options = shared_options(session, flags);
  return flags.all ? snapshot_all(session, flags, options, report) : snapshot_one(session, flags, options, report);
}
}  // namespace

void add_snapshot_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<SnapshotFlags>();
  auto* cmd = volume.add_subcommand(
      "snapshot", "Snapshot a volume into a .tar.zst file (.tar.zst.age when encrypted) and its JSON sidecar");
  cmd->add_option("volume", flags->volume, "Volume to snapshot");
  cmd->add_flag("--all", flags->all, "Snapshot every volume the manifest declares");
  add_store_option(cmd, flags->output, true);
  cmd->add_option("--sidecar", flags->sidecar_file, "With -o -: write the sidecar JSON to FILE");
  cmd->add_option("--note", flags->note, "Note stored in the sidecar")->each([flags](const std::string&) {
    flags->note_given = true;
  });
  cmd->add_option("--level", flags->level, "zstd level 1..19")->check(CLI::Range(1, 19))->capture_default_str();
  cmd->add_flag("--stop-containers", flags->stop_containers,
                "Stop running containers that use the volume and start them again afterwards");
  cmd->add_option("--stop-timeout", flags->stop_timeout,
                  "Seconds a stopped container gets before it is killed (default: its own stop timeout)")
      ->check(CLI::Range(0, 86400));
  cmd->add_option("--hook-timeout", flags->hook_timeout,
                  "Seconds each snapshot hook may take, for containers without the io.dockform.snapshot.timeout "
                  "label (default 300)")
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--exclude", flags->excludes,
                  "Leave out paths matching PATTERN (relative to the volume root, * ? [..] and **; a folder "
                  "pattern leaves out its subtree); repeatable, added to the manifest's volumes.NAME.exclude")
      ->allow_extra_args(false);  // one pattern per --exclude: the volume name is no pattern
  cmd->add_flag("--if-changed", flags->if_changed,
                "Write nothing when the newest snapshot of the volume holds the same content (same index_sha256 "
                "and excludes)");
  cmd->add_flag("--full-read", flags->full_read,
                "Into a repository: read every file, also those whose size, mtime, ctime and inode are those of "
                "the snapshot it builds on (manifest snapshots.full_read_every: one run in N)");
  cmd->add_option("-r,--recipient", flags->keys.recipients,
                  "Encrypt to this age public key (age1...); repeatable (also DOCKFORM_RECIPIENTS, manifest "
                  "snapshots.recipients)")
      ->allow_extra_args(false);
  cmd->add_option("-R,--recipients-file", flags->keys.recipient_files,
                  "Encrypt to the keys in FILE (age's format: one a line, # comments); repeatable (also "
                  "DOCKFORM_RECIPIENTS_FILE, manifest snapshots.recipients_file)")
      ->allow_extra_args(false);
  cmd->add_option("--passphrase-file", flags->keys.passphrase_file,
                  "Encrypt with the passphrase on FILE's first line (age's scrypt; also DOCKFORM_PASSPHRASE_FILE)");
  add_json_flag(cmd, flags->json);
  add_notify_options(cmd, flags->notify);
  on_notified_run(cmd, state, "snapshot", flags->notify, [flags](core::Session& session, notify::RunReport& report) {
    return run_snapshot(session, *flags, report);
  });
}

}  // namespace dockform::cli
