#include <iostream>

#include "commands.hpp"
#include "dockform/store/repo/repo_keys.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::cli {

namespace {
struct RepoFlags {
  std::string dir;
  bool json = false;
  core::RecipientFlags recipients;  // init
  core::IdentityFlags identities;   // key
  std::string key_file;             // init, key
};

int run_init(const RepoFlags& flags) {
  // The flags alone (not DOCKFORM_RECIPIENTS or a manifest): whether a
  // repository is encrypted is decided once, here, and said plainly.
  auto recipients = core::resolve_recipients(flags.recipients, nullptr,
                                             [](const std::string&) { return std::optional<std::string>(); });
  auto files = store::open_repo_files(store::Location::parse(flags.dir));
  std::string key_file = store::init_repository(*files, {recipients.keys, flags.key_file});
  std::cout << "repository created in " << flags.dir << ": snapshot into it with -o " << flags.dir << std::endl;
  if (!key_file.empty()) {
    std::cout << "encrypted; this host's key to write into it is in " << key_file
              << " (other writers: `dockform repo key " << flags.dir << " -i IDENTITY`, or a copy of the file)"
              << std::endl;
  }
  return 0;
}

int run_key(const RepoFlags& flags) {
  run_identities(flags.identities);
  auto files = store::open_repo_files(store::Location::parse(flags.dir));
  if (!store::is_repository(*files)) throw Error(flags.dir + " is not a dockform repository", Exit::usage);
  std::string file = store::recover_repository_key(*files, flags.key_file);
  std::cout << "the key of " << flags.dir << " is in " << file << ": this host can snapshot into it" << std::endl;
  return 0;
}

// Stored / logical: how many bytes a plain folder of the same snapshots would take per byte here.
int run_stats(const RepoFlags& flags) {
  auto stats = store::repo_stats(*store::open_repo_files(store::Location::parse(flags.dir)));
  double ratio = stats.stored_bytes == 0
                     ? 0.0
                     : static_cast<double>(stats.logical_bytes) / static_cast<double>(stats.stored_bytes);
  if (flags.json) {
    print_json({{"repository", flags.dir},
                {"encrypted", stats.encrypted},
                {"snapshots", stats.snapshots},
                {"packs", stats.packs},
                {"frames", stats.frames},
                {"stored_bytes", stats.stored_bytes},
                {"logical_bytes", stats.logical_bytes},
                {"ratio", ratio}});
    return 0;
  }
  std::cout << "encrypted      " << (stats.encrypted ? "yes" : "no") << "\n"
            << "snapshots      " << stats.snapshots << "\n"
            << "packs          " << stats.packs << " (" << stats.frames << " frames)\n"
            << "stored bytes   " << util::human_bytes(stats.stored_bytes) << "\n"
            << "logical bytes  " << util::human_bytes(stats.logical_bytes) << "\n"
            << "ratio          " << ratio << std::endl;
  return 0;
}
}  // namespace

void add_repo_commands(CLI::App& app, CliState& state) {
  auto* repo = app.add_subcommand("repo", "Deduplicated repositories: every frame stored once");
  repo->require_subcommand(1);
  repo->fallthrough();
  auto init = std::make_shared<RepoFlags>();
  auto* cmd = repo->add_subcommand("init", "Make a repository in a new or empty folder, or under s3://BUCKET/PREFIX");
  cmd->add_option("dir", init->dir, "The folder, or s3://BUCKET/PREFIX")->required();
  cmd->add_option("-r,--recipient", init->recipients.recipients,
                  "Encrypt the repository to the age public key KEY (age1...); repeatable")
      ->option_text("KEY")
      ->allow_extra_args(false);
  cmd->add_option("-R,--recipients-file", init->recipients.recipient_files,
                  "Encrypt to the keys in FILE (age's format: one a line, # comments); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--passphrase-file", init->recipients.passphrase_file,
                  "Encrypt with the passphrase on FILE's first line (alone: no -r or -R)");
  cmd->add_option("--key-file", init->key_file,
                  "Where this host keeps the repository key that writers need (default "
                  "~/.config/dockform/repository-keys/<id>, or DOCKFORM_REPO_KEY_FILE)");
  on_run(cmd, state, [init](core::Session&) { return run_init(*init); });
  auto key = std::make_shared<RepoFlags>();
  cmd = repo->add_subcommand(
      "key",
      "Write an encrypted repository's key for this host, recovered with its identity: this host can then "
      "snapshot into it without the identity");
  cmd->add_option("dir", key->dir, "The repository's folder, or s3://BUCKET/PREFIX")->required();
  add_identity_options(cmd, key->identities);
  cmd->add_option("--key-file", key->key_file,
                  "The new key file (default ~/.config/dockform/repository-keys/<id>, or DOCKFORM_REPO_KEY_FILE)");
  on_run(cmd, state, [key](core::Session&) { return run_key(*key); });
  auto stats = std::make_shared<RepoFlags>();
  cmd = repo->add_subcommand("stats", "Snapshots, stored and logical bytes of a repository");
  cmd->add_option("dir", stats->dir, "The repository's folder, or s3://BUCKET/PREFIX")->required();
  add_json_flag(cmd, stats->json);
  on_run(cmd, state, [stats](core::Session&) { return run_stats(*stats); });
}

}  // namespace dockform::cli
