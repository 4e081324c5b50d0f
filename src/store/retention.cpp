#include "dockform/store/retention.hpp"

#include <spdlog/spdlog.h>

#include "dockform/store/naming.hpp"

namespace dockform::store {

namespace {
struct Rule {
  const char* name;
  int remaining;
  const char* format;  // strftime pattern naming the period; null: every snapshot is its own
  std::string last_period;
};
}  // namespace

std::vector<RetentionDecision> apply_retention(const std::vector<std::time_t>& created, const RetentionPolicy& policy) {
  std::vector<Rule> rules = {{"last", policy.keep_last, nullptr, ""},
                             {"daily", policy.keep_daily, "%Y-%m-%d", ""},
                             {"weekly", policy.keep_weekly, "%G-W%V", ""},
                             {"monthly", policy.keep_monthly, "%Y-%m", ""}};
  std::vector<RetentionDecision> decisions(created.size());
  for (std::size_t i = 0; i < created.size(); ++i) {
    auto& decision = decisions[i];
    for (auto& rule : rules) {
      if (rule.remaining <= 0) continue;
      if (rule.format == nullptr) {
        decision.keep = true;
        decision.reasons.push_back(rule.name);
        --rule.remaining;
        continue;
      }
      // Newest first: the first snapshot seen in a period is that period's newest.
      std::string current = utc_text(created[i], rule.format);
      if (current == rule.last_period) continue;
      rule.last_period = current;
      decision.keep = true;
      decision.reasons.push_back(std::string(rule.name) + " " + current);
      --rule.remaining;
    }
  }
  if (!decisions.empty() && !decisions.front().keep) {
    decisions.front().keep = true;
    decisions.front().reasons.push_back("newest");
  }
  return decisions;
}

PruneResult prune_volume(Store& store, const std::string& volume, const RetentionPolicy& policy, bool dry_run) {
  PruneResult result;
  result.volume = volume;
  std::vector<CatalogEntry> snapshots;
  for (auto& entry : list_volume(store, volume)) {
    if (entry.is_snapshot()) {
      snapshots.push_back(std::move(entry));
    } else {
      result.ignored.push_back(std::move(entry));
    }
  }
  std::vector<std::time_t> created;
  for (const auto& entry : snapshots) created.push_back(entry.created);
  auto decisions = apply_retention(created, policy);
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    PruneItem item{std::move(snapshots[i]), decisions[i]};
    if (item.decision.keep) {
      result.kept.push_back(std::move(item));
      continue;
    }
    if (!dry_run) {
      // Data first: an interruption leaves a sidecar without data, which list shows as damaged.
      store.remove(*item.entry.data_file);
      if (item.entry.sidecar_file) store.remove(*item.entry.sidecar_file);
      spdlog::debug("removed snapshot {}", item.entry.data_file->text());
    }
    result.removed.push_back(std::move(item));
  }
  if (!dry_run && !result.removed.empty()) store.sync(volume);
  return result;
}

}  // namespace dockform::store
