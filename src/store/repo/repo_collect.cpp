// The collection of unused frames (docs/storage.md, "Prune and the
// collection"), under the repository lock held alone:
//   1. the frames every finished snapshot's recipe names are the used ones
//      (a damaged recipe stops everything: nothing is removed);
//   2. each pack is kept, removed (no used frame), or rewritten (at least
//      --repack percent, by default half, of its bytes unused: its used
//      frames, each checked against its id, go into a new pack, sealed and
//      indexed first);
//   3. only then the old packs' indexes go, then the old packs.
// A kill at any point leaves every used frame listed by an index whose pack
// exists: at worst a frame listed twice, or a pack that no index names, which
// the next collection removes.
#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "dockform/store/repo/repo_lock.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {

// The finished files of `folder` ending in `suffix`, sorted by name.
std::vector<RepoFiles::Entry> files_ending(RepoFiles& files, const std::string& folder, const std::string& suffix) {
  auto out = files.list(folder);
  std::erase_if(out, [&](const RepoFiles::Entry& entry) { return !entry.name.ends_with(suffix); });
  return out;
}

// The name `name` has with another suffix ("a.recipe" to "a.json").
std::string with_suffix(const std::string& name, const std::string& from, const std::string& to) {
  return name.substr(0, name.size() - from.size()) + to;
}

// Step 1: the ids of the frames the finished snapshots use. A recipe without
// its sidecar is a snapshot killed before it finished (no writer runs while
// the lock is held alone): it goes, unless this is a dry run.
std::unordered_set<std::string> used_frames(RepoFiles& files, bool dry_run, Collected& collected) {
  std::unordered_set<std::string> used;
  for (const auto& volume : files.folders("snapshots")) {
    auto snapshots = volume_snapshots(files, volume);
    for (const auto& stem : snapshots.unfinished) {
      ++collected.unfinished;
      if (!dry_run) files.remove(RepoRef{files.root(), volume, stem}.recipe());
    }
    for (const auto& stem : snapshots.finished) {
      auto recipe = RepoRef{files.root(), volume, stem}.recipe();
      try {
        auto text = read_repo_file(files, recipe);
        for (const auto& frame : decode_recipe(text, files.show(recipe)).frames) used.insert(frame.id);
      } catch (const Error& e) {
        throw Error(std::string(e.what()) + "; nothing was collected", e.code());
      }
    }
  }
  return used;
}

struct PackPlan {
  std::string pack;  // its name
  std::string pack_file;
  std::vector<PackEntry> keep;  // the used frames to move (a rewrite)
  bool remove = false;          // no used frame: the pack goes
};

struct PackContents {
  std::string pack;
  std::vector<PackEntry> entries;
  double used_share = 0;  // of its bytes, by frames some snapshot uses
};

// The index files and the packs each lists.
using IndexFiles = std::map<std::string, std::vector<IndexedPack>>;
IndexFiles read_index_files(RepoFiles& files) {
  IndexFiles out;
  for (const auto& index_file : files_ending(files, "index", ".json")) {
    out[index_file.name] = decode_pack_index(read_repo_file(files, index_file.name), files.show(index_file.name));
  }
  return out;
}

// Every indexed pack, the packs most used first (then by name): a frame
// stored twice is placed in the pack that stays rather than copied out of
// one that goes.
std::vector<PackContents> read_packs(const IndexFiles& index_files, const std::unordered_set<std::string>& used) {
  std::vector<PackContents> packs;
  for (const auto& [name, listed] : index_files) {
    for (const auto& pack : listed) {
      std::uint64_t total = 0;
      std::uint64_t in_use = 0;
      for (const auto& entry : pack.entries) {
        total += entry.length;
        if (used.contains(entry.id)) in_use += entry.length;
      }
      double share = total == 0 ? 0 : static_cast<double>(in_use) / static_cast<double>(total);
      packs.push_back({pack.pack, pack.entries, share});
    }
  }
  std::stable_sort(packs.begin(), packs.end(),
                   [](const PackContents& a, const PackContents& b) { return a.used_share > b.used_share; });
  return packs;
}

// Step 2: what happens to each pack. A used frame that a pack placed before
// holds too is unused here: one copy is enough.
std::vector<PackPlan> plan_packs(const IndexFiles& index_files, const std::unordered_set<std::string>& used,
                                 int repack_percent, Collected& collected) {
  std::vector<PackPlan> plans;
  std::unordered_set<std::string> placed;
  for (const auto& contents : read_packs(index_files, used)) {
    PackPlan plan{contents.pack, "packs/" + contents.pack + ".pack", {}, false};
    std::uint64_t total = 0;
    std::uint64_t unused = 0;
    for (const auto& entry : contents.entries) {
      total += entry.length;
      if (used.contains(entry.id) && placed.insert(entry.id).second) {
        plan.keep.push_back(entry);
      } else {
        unused += entry.length;
      }
    }
    // Used enough: kept as it is (a pack with nothing used goes whatever the percent).
    if (unused == 0 || (unused < total && unused * 100 < total * static_cast<std::uint64_t>(repack_percent))) continue;
    plan.remove = plan.keep.empty();
    collected.frames_removed += contents.entries.size() - plan.keep.size();
    collected.bytes_freed += unused;  // the estimate of a dry run
    ++(plan.remove ? collected.packs_removed : collected.packs_rewritten);
    for (const auto& entry : plan.keep) collected.bytes_copied += entry.length;
    plans.push_back(std::move(plan));
  }
  return plans;
}

// A frame of a pack, checked against its id before it is stored again.
std::string read_frame_checked(RepoFiles& files, const std::string& pack, const PackEntry& entry) {
  std::string bytes;
  try {
    bytes = files.read_range(pack, entry.offset, entry.length);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "; the collection stopped before removing anything", Exit::refused);
  }
  if (files.content_id(bytes) != entry.id) {
    throw Error("checksum mismatch: frame " + entry.id + " is damaged in pack " + files.show(pack) +
                    "; the collection stopped before removing anything",
                Exit::refused);
  }
  return bytes;
}

// Step 2's rewrites: every used frame of a pack that goes is in a sealed and
// indexed new pack before step 3 removes anything.
std::vector<std::string> copy_used_frames(RepoFiles& files, const std::vector<PackPlan>& plans) {
  PackWriter writer(files, false);
  for (const auto& plan : plans) {
    if (plan.keep.empty()) continue;
    if (!files.size(plan.pack_file)) {
      throw Error("checksum mismatch: pack " + files.show(plan.pack_file) +
                      " is missing; the collection stopped before removing anything",
                  Exit::refused);
    }
    for (const auto& entry : plan.keep) {
      util::throw_if_interrupted();
      writer.add(entry.id, read_frame_checked(files, plan.pack_file, entry));
    }
  }
  writer.finish();
  return writer.sealed();
}

// Step 3: the index files that list a pack that goes first (each written
// again without it, then removed: nothing names the old packs any more), then
// the packs; then the packs that no index names (a killed collection's or a
// killed snapshot's, sealed before its index).
// A pack the rewrites sealed again (the same bytes as one planned to go,
// which a killed collection had already written) stays.
void remove_old_packs(RepoFiles& files, const IndexFiles& index_files, std::vector<PackPlan> plans,
                      const std::vector<std::string>& sealed) {
  std::unordered_set<std::string> going;
  for (const auto& plan : plans) {
    if (std::find(sealed.begin(), sealed.end(), plan.pack) == sealed.end()) going.insert(plan.pack);
  }
  for (const auto& [name, listed] : index_files) {
    auto goes = [&](const IndexedPack& pack) { return going.contains(pack.pack); };
    if (std::none_of(listed.begin(), listed.end(), goes)) continue;
    std::vector<IndexedPack> staying;
    std::copy_if(listed.begin(), listed.end(), std::back_inserter(staying), std::not_fn(goes));
    if (!staying.empty()) write_pack_index(files, staying);
    files.remove(name);
  }
  files.sync("index");
  for (const auto& pack : going) files.remove("packs/" + pack + ".pack");
  std::unordered_set<std::string> indexed;
  for (const auto& [name, listed] : read_index_files(files)) {
    for (const auto& pack : listed) indexed.insert(pack.pack);
  }
  for (const auto& pack : files_ending(files, "packs", ".pack")) {
    if (!indexed.contains(with_suffix(pack.name.substr(6), ".pack", ""))) files.remove(pack.name);
  }
  files.sync("packs");
}
}  // namespace

Collected collect_unused_frames(RepoFiles& files, bool dry_run, int repack_percent) {
  // A dry run changes nothing: it only keeps the collection from running meanwhile.
  RepoLock lock(files, dry_run ? RepoLock::Mode::shared : RepoLock::Mode::exclusive);
  return collect_unused_frames(files, lock, dry_run, repack_percent);
}

Collected collect_unused_frames(RepoFiles& files, const RepoLock& lock, bool dry_run, int repack_percent) {
  if (repack_percent < 0 || repack_percent > 100) throw std::logic_error("repack percent out of 0..100");
  Collected collected;
  if (!dry_run) files.prepare({"packs", "index"});
  std::uint64_t before = repo_stored_bytes(files);
  auto used = used_frames(files, dry_run, collected);
  auto index_files = read_index_files(files);
  if (repack_percent < 100 && !files.reads_frames()) {
    // A writer's key stores frames but cannot read them: packs that nothing
    // uses go, packs partly used stay until a prune with an identity.
    spdlog::info("packs partly unused are kept: rewriting them needs the repository's identity (--identity)");
    repack_percent = 100;
  }
  auto plans = plan_packs(index_files, used, repack_percent, collected);
  if (dry_run) return collected;
  auto sealed = copy_used_frames(files, plans);
  // Nothing is removed by a run that may have lost the lock (a bucket's heartbeat stopped).
  lock.check_held();
  remove_old_packs(files, index_files, std::move(plans), sealed);
  std::uint64_t after = repo_stored_bytes(files);
  collected.bytes_freed = before > after ? before - after : 0;
  return collected;
}

}  // namespace dockform::store
