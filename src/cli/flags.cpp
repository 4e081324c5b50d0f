// The flags and arguments several commands share: one declaration and one
// help text each, so that every command says the same about them.
#include "commands.hpp"
#include "dockform/store/repo/repo_keys.hpp"

namespace dockform::cli {

void add_identity_options(CLI::App* cmd, core::IdentityFlags& keys) {
  cmd->add_option("-i,--identity", keys.identity_files,
                  "Decrypt an encrypted snapshot with the age identity file FILE (AGE-SECRET-KEY-1... lines); "
                  "repeatable (also DOCKFORM_IDENTITY_FILE)")
      ->allow_extra_args(false);
  cmd->add_option("--passphrase-file", keys.passphrase_file,
                  "Decrypt with the passphrase on FILE's first line (also DOCKFORM_PASSPHRASE_FILE)");
}

std::vector<crypto::age::Identity> run_identities(const core::IdentityFlags& keys) {
  auto identities = core::resolve_identities(keys, manifest::process_env());
  store::use_repository_identities(identities);
  return identities;
}

void add_json_flag(CLI::App* cmd, bool& json, const std::string& condition) {
  cmd->add_flag("--json", json,
                "Print the result as one JSON document" + (condition.empty() ? "" : " (" + condition + ")"));
}

CLI::Option* add_store_option(CLI::App* cmd, std::string& output, bool or_stdout) {
  return cmd->add_option("-o,--output", output,
                         "Folder, s3://BUCKET[/PREFIX] or repository of the snapshots (default the manifest's "
                         "snapshots.destination, else <manifest dir>/.dockform/snapshots)" +
                             std::string(or_stdout ? "; - for standard output" : ""));
}

CLI::Option* add_snapshot_argument(CLI::App* cmd, std::string& snapshot, bool or_stdin) {
  return cmd
      ->add_option("snapshot", snapshot,
                   "Snapshot: a file (.tar.zst, .tar.zst.age or .tar), an s3:// URL, or a repository's "
                   "REPO/VOLUME/STEM.tar.zst (the ref `volume list` shows)" +
                       std::string(or_stdin ? "; - for standard input" : ""))
      ->required();
}

void add_stdin_sidecar_option(CLI::App* cmd, std::string& sidecar_file) {
  cmd->add_option("--sidecar", sidecar_file, "With -: the snapshot's sidecar JSON, for the checksum and counts");
}

void on_run(CLI::App* cmd, CliState& state, std::function<int(core::Session&)> run) {
  cmd->callback([&state, run = std::move(run)] { state.run = run; });
}

}  // namespace dockform::cli
