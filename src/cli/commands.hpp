#pragma once
// Each command registers itself on the CLI11 app and leaves the work to run
// in `CliState::run`; main() parses, sets up logging and calls it.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "dockform/core/keys.hpp"
#include "dockform/core/session.hpp"
#include "dockform/store/location.hpp"
#include "dockform/store/retention.hpp"
#include "dockform/util/log.hpp"

namespace dockform::cli {

struct CliState {
  core::GlobalOptions global;
  util::LogOptions log;
  std::function<int(core::Session&)> run;
};

// Every flag and command of `dockform`, on `app` (main() parses with it).
void define_app(CLI::App& app, CliState& state);

void add_version_command(CLI::App& app, CliState& state);
// "dockform VERSION": what --version prints, and the first line of `dockform version`.
std::string version_line();
void add_validate_command(CLI::App& app, CliState& state);
void add_plan_commands(CLI::App& app, CliState& state);  // plan and apply
void add_volume_commands(CLI::App& app, CliState& state);
// Subcommands of `volume`, one file each.
void add_snapshot_command(CLI::App& volume, CliState& state);
void add_restore_command(CLI::App& volume, CliState& state);
void add_list_command(CLI::App& volume, CliState& state);
void add_verify_command(CLI::App& volume, CliState& state);
void add_ls_command(CLI::App& volume, CliState& state);
void add_extract_command(CLI::App& volume, CliState& state);
void add_prune_command(CLI::App& volume, CliState& state);
// The retention prune applies: the --keep-* flags when any is given (the
// others are then 0), else the manifest's snapshots.keep; neither: a usage error.
store::RetentionPolicy prune_policy(bool keep_given, const store::RetentionPolicy& flags,
                                    const manifest::Manifest& manifest);
void add_unlock_command(CLI::App& volume, CliState& state);
void add_copy_command(CLI::App& volume, CliState& state);
void add_export_command(CLI::App& volume, CliState& state);
// `repo init` and `repo stats`.
void add_repo_commands(CLI::App& app, CliState& state);
void add_completion_command(CLI::App& app, CliState& state);
// What `dockform completion bash` prints: made from `app`'s commands and flags.
std::string bash_completion_script(const CLI::App& app);

// The flags and arguments several commands share, each declared once with
// one help text (flags.cpp), and the one way a command says what it runs.
// -i/--identity and --passphrase-file of the commands that read a snapshot.
void add_identity_options(CLI::App* cmd, core::IdentityFlags& keys);
// The identities those options give (core::resolve_identities); they open an
// encrypted repository's snapshots too.
std::vector<crypto::age::Identity> run_identities(const core::IdentityFlags& keys);
// --json; `condition` (e.g. "with -o FILE") goes in parentheses after the help.
void add_json_flag(CLI::App* cmd, bool& json, const std::string& condition = "");
// -o/--output of the commands that use a snapshot store (folder, bucket or
// repository); `or_stdout`: also - for standard output.
CLI::Option* add_store_option(CLI::App* cmd, std::string& output, bool or_stdout = false);
// The SNAPSHOT argument: a file, an s3:// URL or a repository's ref;
// `or_stdin`: also - for standard input.
CLI::Option* add_snapshot_argument(CLI::App* cmd, std::string& snapshot, bool or_stdin);
// --sidecar FILE of the commands that read a snapshot from standard input.
void add_stdin_sidecar_option(CLI::App* cmd, std::string& sidecar_file);
// What the command runs once the command line is parsed.
void on_run(CLI::App* cmd, CliState& state, std::function<int(core::Session&)> run);

// <manifest dir>/.dockform/snapshots, or -o DIR|s3://BUCKET[/PREFIX]|- (parsed here, once).
store::Location snapshot_base(core::Session& session, const std::string& output_flag);

// Whether a command's SNAPSHOT argument is "-" (standard input, which must not
// be a terminal: `example` says how to pipe one in); --sidecar FILE goes with "-"
// only. Usage errors otherwise.
bool snapshot_from_stdin(const std::string& snapshot, const std::string& sidecar_file, const std::string& example);

// Prints a JSON document on stdout (pretty, one document).
void print_json(const nlohmann::ordered_json& document);
// A path or URL as a JSON string, or null.
nlohmann::ordered_json path_or_null(const std::optional<std::string>& path);
// What one pass over a snapshot file measured, in the order restore and verify print it.
void add_read_figures(nlohmann::ordered_json& out, const std::string& checksum, std::uint64_t bytes_read,
                      std::uint64_t uncompressed_bytes, std::uint64_t file_count);

}  // namespace dockform::cli
