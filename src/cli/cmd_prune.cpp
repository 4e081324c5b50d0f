#include <algorithm>
#include <chrono>
#include <iostream>

#include "commands.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/retention.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/signals.hpp"
#include "notify_options.hpp"

namespace dockform::cli {

namespace {
struct PruneFlags {
  std::string volume;
  bool all = false;
  std::string output;
  store::RetentionPolicy policy;
  bool keep_given = false;  // any --keep-* flag: they replace the manifest's snapshots.keep
  bool dry_run = false;
  bool json = false;
  int repack = store::kRepackUnusedPercent;
  core::IdentityFlags keys;  // an encrypted repository's packs are rewritten only with them
  NotifyFlags notify;
};

nlohmann::ordered_json item_json(const store::PruneItem& item) {
  nlohmann::ordered_json reasons = item.decision.reasons;
  return {{"created_at", store::iso_timestamp(item.entry.created)},
          {"data_file", item.entry.data_file->text()},
          {"sidecar_file", item.entry.sidecar_file ? nlohmann::ordered_json(item.entry.sidecar_file->text()) : nullptr},
          {"reasons", reasons}};
}

nlohmann::ordered_json result_json(const store::PruneResult& result) {
  auto kept = nlohmann::ordered_json::array();
  auto removed = nlohmann::ordered_json::array();
  auto ignored = nlohmann::ordered_json::array();
  for (const auto& item : result.kept) kept.push_back(item_json(item));
  for (const auto& item : result.removed) removed.push_back(item_json(item));
  for (const auto& entry : result.ignored)
    ignored.push_back({{"file", entry.sidecar_file->text()}, {"problem", entry.problem}});
  return {{"volume", result.volume}, {"kept", kept}, {"removed", removed}, {"ignored", ignored}};
}

void print_result(const store::PruneResult& result, bool dry_run) {
  for (const auto& item : result.kept) {
    std::string reasons;
    for (const auto& reason : item.decision.reasons) reasons += (reasons.empty() ? "" : ", ") + reason;
    std::cout << "keep   " << item.entry.data_file->filename() << " (" << reasons << ")\n";
  }
  for (const auto& item : result.removed) {
    std::cout << (dry_run ? "would remove " : "remove ") << item.entry.data_file->filename() << "\n";
  }
  for (const auto& entry : result.ignored) {
    std::cout << "ignore " << entry.sidecar_file->filename() << " (" << entry.problem << ")\n";
  }
  std::cout << result.volume << ": " << result.kept.size() << " kept, " << result.removed.size()
            << (dry_run ? " would be removed (dry run)" : " removed") << std::endl;
}

nlohmann::ordered_json collected_json(const store::Collected& collected) {
  return {{"packs_removed", collected.packs_removed},   {"packs_rewritten", collected.packs_rewritten},
          {"frames_removed", collected.frames_removed}, {"bytes_copied", collected.bytes_copied},
          {"bytes_freed", collected.bytes_freed},       {"unfinished_removed", collected.unfinished}};
}

void print_collected(const store::Collected& collected, bool dry_run) {
  std::cout << "repository: " << collected.frames_removed << " unused frames in "
            << collected.packs_removed + collected.packs_rewritten << " packs (" << collected.packs_removed
            << " removed, " << collected.packs_rewritten << " rewritten, " << util::human_bytes(collected.bytes_copied)
            << " moved), " << util::human_bytes(collected.bytes_freed)
            << (dry_run ? " would be freed (dry run)" : " freed");
  if (collected.unfinished > 0) {
    std::cout << "; " << collected.unfinished << " unfinished snapshots" << (dry_run ? " would be" : "") << " removed";
  }
  std::cout << std::endl;
}

}  // namespace

store::RetentionPolicy prune_policy(bool keep_given, const store::RetentionPolicy& flags,
                                    const manifest::Manifest& manifest) {
  if (keep_given) return flags;
  if (!manifest.snapshots.keep) {
    throw Error(
        "give the retention: --keep-last N (and --keep-daily/--keep-weekly/--keep-monthly), or "
        "snapshots.keep in the manifest",
        Exit::usage);
  }
  const auto& keep = *manifest.snapshots.keep;
  return {keep.last, keep.daily, keep.weekly, keep.monthly};
}

namespace {
// The manifest, for its snapshots.keep. None found: no retention was given
// at all, a usage error (exit 2) as before the manifest could hold one.
const manifest::Manifest& manifest_for_keep(core::Session& session) {
  try {
    return session.manifest();
  } catch (const Error& e) {
    if (e.code() != Exit::manifest || std::string(e.what()).rfind("no manifest found", 0) != 0) throw;
    throw Error(std::string("give the retention: --keep-last N (and --keep-daily/--keep-weekly/--keep-monthly), or "
                            "snapshots.keep in a manifest; ") +
                    e.what(),
                Exit::usage);
  }
}

int run_prune(core::Session& session, const PruneFlags& flags, notify::RunReport& report) {
  if (flags.all == !flags.volume.empty()) throw Error("give either a volume name or --all", Exit::usage);
  run_identities(flags.keys);
  // With --keep-* flags (and -o) no manifest is needed, as before it could hold a retention.
  const auto policy = flags.keep_given ? flags.policy : prune_policy(false, flags.policy, manifest_for_keep(session));
  auto store = store::open_store(snapshot_base(session, flags.output));
  std::vector<std::string> volumes;
  if (flags.all) {
    for (const auto& [name, declared] : session.manifest().volumes) volumes.push_back(name);
  } else {
    volumes.push_back(flags.volume);
  }
  // A repository's lock, held alone from here to the end of the collection:
  // a prune that cannot have it (a snapshot runs past DOCKFORM_REPO_LOCK_WAIT)
  // removes nothing at all, not even what the retention drops.
  const auto lock = store->lock_for_prune(flags.dry_run);
  auto results = nlohmann::ordered_json::array();
  for (const auto& volume : volumes) {
    util::throw_if_interrupted();
    lock->check_held();
    if (!flags.dry_run) report.begin(volume);
    auto started = std::chrono::steady_clock::now();
    auto result = store::prune_volume(*store, volume, policy, flags.dry_run);
    results.push_back(result_json(result));
    if (!flags.json) print_result(result, flags.dry_run);
    if (!flags.dry_run) {  // a dry run changes nothing: its figures are no metrics
      notify::VolumeOutcome outcome;
      outcome.volume = volume;
      outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      outcome.removed = result.removed.size();
      outcome.kept = result.kept.size();
      report.succeeded(outcome);
    }
  }
  report.result = {{"dry_run", flags.dry_run}, {"volumes", results}};
  // A repository: the frames only the removed snapshots used go too.
  if (auto collected = store->collect_unused(*lock, flags.dry_run, flags.repack)) {
    report.result["collected"] = collected_json(*collected);
    if (!flags.json) print_collected(*collected, flags.dry_run);
  }
  report.print_json = flags.json;
  return 0;
}
}  // namespace

void add_prune_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<PruneFlags>();
  auto* cmd = volume.add_subcommand("prune", "Remove old snapshots by a retention policy (the newest is always kept)");
  cmd->add_option("volume", flags->volume, "Volume whose snapshots to prune");
  cmd->add_flag("--all", flags->all, "Prune every volume the manifest declares");
  add_store_option(cmd, flags->output);
  // Without any of these, the manifest's snapshots.keep; with one, the flags alone.
  std::vector<CLI::Option*> keep{
      cmd->add_option("--keep-last", flags->policy.keep_last,
                      "Keep the N newest snapshots (default: the manifest's snapshots.keep)"),
      cmd->add_option("--keep-daily", flags->policy.keep_daily, "Keep the newest of each of the last N days with one"),
      cmd->add_option("--keep-weekly", flags->policy.keep_weekly,
                      "Keep the newest of each of the last N ISO weeks with one"),
      cmd->add_option("--keep-monthly", flags->policy.keep_monthly,
                      "Keep the newest of each of the last N months with one")};
  for (auto* option : keep) option->check(CLI::NonNegativeNumber);
  cmd->add_flag("--dry-run", flags->dry_run, "Remove nothing; say what would be removed");
  cmd->add_option("--repack", flags->repack,
                  "In a repository, rewrite a pack once PERCENT of its bytes are unused (default 50; 100: only "
                  "remove packs that nothing uses)")
      ->check(CLI::Range(0, 100))
      ->option_text("PERCENT");
  add_identity_options(cmd, flags->keys);
  add_json_flag(cmd, flags->json);
  add_notify_options(cmd, flags->notify);
  on_notified_run(cmd, state, "prune", flags->notify, [flags, keep](core::Session& session, notify::RunReport& report) {
    flags->keep_given = std::any_of(keep.begin(), keep.end(), [](CLI::Option* o) { return o->count() > 0; });
    return run_prune(session, *flags, report);
  });
}

}  // namespace dockform::cli
