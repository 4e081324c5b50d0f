#include <iostream>

#include "commands.hpp"
#include "dockform/core/keys.hpp"
#include "dockform/ops/verify.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::cli {

namespace {
struct VerifyFlags {
  std::string snapshot;
  std::string sidecar_file;
  core::IdentityFlags keys;
  bool json = false;
  bool no_read_data = false;
};

int run_verify(const VerifyFlags& flags) {
  snapshot_from_stdin(flags.snapshot, flags.sidecar_file, "dockform volume verify - < FILE");
  auto identities = run_identities(flags.keys);
  auto report =
      ops::verify_snapshot(store::Location::parse(flags.snapshot), identities, flags.sidecar_file, !flags.no_read_data);
  if (flags.json) {
    nlohmann::ordered_json out;
    out["snapshot"] = report.snapshot;
    out["sidecar"] = path_or_null(report.sidecar_file);
    out["format"] = report.format;
    out["encrypted"] = report.encrypted;
    out["content_checked"] = report.content_checked;
    if (report.encrypted) out["stored_sha256"] = report.stored_checksum;
    out["data_read"] = report.data_read;
    out["ok"] = report.ok();
    add_read_figures(out, report.checksum, report.bytes_read, report.uncompressed_bytes, report.file_count);
    out["members"] = report.members;
    out["seekable_frames"] = report.seekable_frames;
    out["problems"] = report.problems;
    out["warnings"] = report.warnings;
    print_json(out);
  } else {
    for (const auto& warning : report.warnings) std::cerr << "warning: " << warning << "\n";
    for (const auto& problem : report.problems) std::cout << "problem: " << problem << "\n";
    std::cout << report.snapshot << ": " << (report.ok() ? "OK" : "FAILED");
    if (report.content_checked) {
      std::cout << " (" << report.members << " members, " << report.file_count << " files, "
                << util::human_bytes(report.uncompressed_bytes) << " of tar";
      if (report.seekable_frames > 0) std::cout << ", " << report.seekable_frames << " frames and their index";
      if (!report.data_read) std::cout << "; structure only";
      std::cout << ")";
    } else if (report.encrypted) {
      std::cout << " (encrypted: stored bytes and age header only)";
    }
    std::cout << std::endl;
  }
  // A snapshot that fails verification must not be trusted: same code as a checksum mismatch.
  return report.ok() ? 0 : static_cast<int>(Exit::refused);
}
}  // namespace

void add_verify_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<VerifyFlags>();
  auto* cmd = volume.add_subcommand("verify", "Check a snapshot file completely, without the engine");
  add_snapshot_argument(cmd, flags->snapshot, true);
  add_stdin_sidecar_option(cmd, flags->sidecar_file);
  add_identity_options(cmd, flags->keys);
  cmd->add_flag("--no-read-data", flags->no_read_data,
                "Check the structure alone, reading no data frame: the sidecar, the index and seek table, and in a "
                "repository that every frame is stored (seekable snapshots)");
  add_json_flag(cmd, flags->json);
  on_run(cmd, state, [flags](core::Session&) { return run_verify(*flags); });
}

}  // namespace dockform::cli
