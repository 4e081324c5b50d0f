#pragma once
// Retention as restic's `forget` documents it: a snapshot is kept when any
// rule keeps it; daily/weekly/monthly keep the newest snapshot of each of the
// last N periods that have one. Periods are UTC days, ISO weeks and months.
// The newest snapshot is always kept. Pruning applies the rules to a
// volume's snapshots in any store (it works through Store).
#include <ctime>
#include <string>
#include <vector>

#include "dockform/store/catalog.hpp"
#include "dockform/store/store.hpp"

namespace dockform::store {

struct RetentionPolicy {
  int keep_last = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
};

struct RetentionDecision {
  bool keep = false;
  std::vector<std::string> reasons;  // "last", "daily 2026-11-26", ...
};

// `created` must be sorted newest first; the result is parallel to it.
std::vector<RetentionDecision> apply_retention(const std::vector<std::time_t>& created, const RetentionPolicy& policy);

struct PruneItem {
  CatalogEntry entry;
  RetentionDecision decision;
};

struct PruneResult {
  std::string volume;
  std::vector<PruneItem> kept;
  std::vector<PruneItem> removed;     // or, with dry_run, that would be
  std::vector<CatalogEntry> ignored;  // sidecars without data: never counted, never removed
};

// Applies the policy to one volume's snapshots and removes the others (data
// file, then its sidecar), unless dry_run.
PruneResult prune_volume(Store& store, const std::string& volume, const RetentionPolicy& policy, bool dry_run);

}  // namespace dockform::store
