#include <iostream>

#include "commands.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::cli {

namespace {
struct RepoFlags {
  std::string dir;
  bool json = false;
};

int run_init(const RepoFlags& flags) {
  store::init_repository(*store::open_repo_files(store::Location::parse(flags.dir)));
  std::cout << "repository created in " << flags.dir << ": snapshot into it with -o " << flags.dir << std::endl;
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
                {"snapshots", stats.snapshots},
                {"packs", stats.packs},
                {"frames", stats.frames},
                {"stored_bytes", stats.stored_bytes},
                {"logical_bytes", stats.logical_bytes},
                {"ratio", ratio}});
    return 0;
  }
  std::cout << "snapshots      " << stats.snapshots << "\n"
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
  on_run(cmd, state, [init](core::Session&) { return run_init(*init); });
  auto stats = std::make_shared<RepoFlags>();
  cmd = repo->add_subcommand("stats", "Snapshots, stored and logical bytes of a repository");
  cmd->add_option("dir", stats->dir, "The repository's folder, or s3://BUCKET/PREFIX")->required();
  add_json_flag(cmd, stats->json);
  on_run(cmd, state, [stats](core::Session&) { return run_stats(*stats); });
}

}  // namespace dockform::cli
