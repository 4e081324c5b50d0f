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
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include "dockform/store/repo/repo_lock.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
namespace fs = std::filesystem;

// The visible files of `dir` ending in `suffix`, sorted by name.
std::vector<fs::path> files_ending(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> out;
  std::error_code error;
  for (const auto& item : fs::directory_iterator(dir, error)) {
    std::string name = item.path().filename().string();
    if (!name.empty() && name[0] != '.' && name.ends_with(suffix)) out.push_back(item.path());
  }
  if (error) throw Error("cannot list " + dir.string() + ": " + error.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t size_of(const fs::path& file) {
  std::error_code error;
  auto size = fs::file_size(file, error);
  return error ? 0 : size;
}

// Step 1: the ids of the frames the finished snapshots use. A recipe without
// its sidecar is a snapshot killed before it finished (no writer runs while
// the lock is held alone): it goes, unless this is a dry run.
std::unordered_set<std::string> used_frames(const fs::path& root, bool dry_run, Collected& collected) {
  std::unordered_set<std::string> used;
  std::error_code error;
  for (const auto& volume : fs::directory_iterator(root / "snapshots", error)) {
    if (!volume.is_directory() || volume.path().filename().string()[0] == '.') continue;
    for (const auto& recipe : files_ending(volume.path(), ".recipe")) {
      if (!fs::exists(fs::path(recipe).replace_extension(".json"))) {
        ++collected.unfinished;
        if (!dry_run) fs::remove(recipe);
        continue;
      }
      try {
        for (const auto& frame : decode_recipe(read_repo_file(recipe), recipe.string()).frames) used.insert(frame.id);
      } catch (const Error& e) {
        throw Error(std::string(e.what()) + "; nothing was collected", e.code());
      }
    }
  }
  if (error) throw Error("cannot list " + (root / "snapshots").string() + ": " + error.message());
  return used;
}

struct PackPlan {
  fs::path index_file;
  fs::path pack_file;
  std::vector<PackEntry> keep;  // the used frames to move (a rewrite)
  bool remove = false;          // no used frame: the pack goes
};

struct PackContents {
  fs::path index_file;
  std::string pack;
  std::vector<PackEntry> entries;
  double used_share = 0;  // of its bytes, by frames some snapshot uses
};

// Every pack index, the packs most used first (then by name): a frame stored
// twice is placed in the pack that stays rather than copied out of one that
// goes.
std::vector<PackContents> read_packs(const fs::path& root, const std::unordered_set<std::string>& used) {
  std::vector<PackContents> packs;
  for (const auto& index_file : files_ending(root / "index", ".json")) {
    auto [pack, entries] = decode_pack_index(read_repo_file(index_file), index_file.string());
    std::uint64_t total = 0;
    std::uint64_t in_use = 0;
    for (const auto& entry : entries) {
      total += entry.length;
      if (used.contains(entry.id)) in_use += entry.length;
    }
    double share = total == 0 ? 0 : static_cast<double>(in_use) / static_cast<double>(total);
    packs.push_back({index_file, pack, std::move(entries), share});
  }
  std::stable_sort(packs.begin(), packs.end(),
                   [](const PackContents& a, const PackContents& b) { return a.used_share > b.used_share; });
  return packs;
}

// Step 2: what happens to each pack. A used frame that a pack placed before
// holds too is unused here: one copy is enough.
std::vector<PackPlan> plan_packs(const fs::path& root, const std::unordered_set<std::string>& used, int repack_percent,
                                 Collected& collected) {
  std::vector<PackPlan> plans;
  std::unordered_set<std::string> placed;
  for (const auto& contents : read_packs(root, used)) {
    PackPlan plan{contents.index_file, root / "packs" / (contents.pack + ".pack"), {}, false};
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

// The bytes of every file in the repository.
std::uint64_t stored_bytes(const fs::path& root) {
  std::uint64_t total = 0;
  std::error_code error;
  for (const auto& item : fs::recursive_directory_iterator(root, error)) {
    if (item.is_regular_file(error)) total += size_of(item.path());
  }
  return total;
}

// A frame of a pack, checked against its id before it is stored again.
std::string read_frame_checked(const util::Fd& pack, const fs::path& name, const PackEntry& entry) {
  std::string bytes(entry.length, '\0');
  auto got = util::pread_full(pack.get(), bytes.data(), bytes.size(), entry.offset);
  if (!got) throw Error("cannot read pack " + name.string() + ": " + std::strerror(errno));
  if (*got < bytes.size() || util::sha256_hex(bytes) != entry.id) {
    throw Error("checksum mismatch: frame " + entry.id + " is damaged in pack " + name.string() +
                    "; the collection stopped before removing anything",
                Exit::refused);
  }
  return bytes;
}

// Step 2's rewrites: every used frame of a pack that goes is in a sealed and
// indexed new pack before step 3 removes anything.
std::vector<std::string> copy_used_frames(const fs::path& root, const std::vector<PackPlan>& plans) {
  PackWriter writer(root);
  for (const auto& plan : plans) {
    if (plan.keep.empty()) continue;
    util::Fd pack(::open(plan.pack_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pack.valid()) {
      throw Error("checksum mismatch: pack " + plan.pack_file.string() + " is missing (" + std::strerror(errno) +
                      "); the collection stopped before removing anything",
                  Exit::refused);
    }
    for (const auto& entry : plan.keep) {
      util::throw_if_interrupted();
      writer.add(entry.id, read_frame_checked(pack, plan.pack_file, entry));
    }
  }
  writer.seal();
  return writer.sealed();
}

// Step 3: the indexes first (nothing names the old packs any more), then the
// packs; then the packs that no index names (a killed collection's or a
// killed snapshot's, sealed before its index).
// A pack the rewrites sealed again (the same bytes as one planned to go,
// which a killed collection had already written) stays.
void remove_old_packs(const fs::path& root, std::vector<PackPlan> plans, const std::vector<std::string>& sealed) {
  std::erase_if(plans, [&](const PackPlan& plan) {
    return std::find(sealed.begin(), sealed.end(), plan.pack_file.stem().string()) != sealed.end();
  });
  for (const auto& plan : plans) fs::remove(plan.index_file);
  util::fsync_dir(root / "index");
  for (const auto& plan : plans) fs::remove(plan.pack_file);
  std::unordered_set<std::string> indexed;
  for (const auto& index_file : files_ending(root / "index", ".json")) indexed.insert(index_file.stem().string());
  for (const auto& pack : files_ending(root / "packs", ".pack")) {
    if (!indexed.contains(pack.stem().string())) fs::remove(pack);
  }
  util::fsync_dir(root / "packs");
}
}  // namespace

Collected collect_unused_frames(const fs::path& root, bool dry_run, int repack_percent) {
  if (repack_percent < 0 || repack_percent > 100) throw std::logic_error("repack percent out of 0..100");
  // A dry run changes nothing: it only keeps the collection from running meanwhile.
  RepoLock lock(root, dry_run ? RepoLock::Mode::shared : RepoLock::Mode::exclusive);
  Collected collected;
  if (!dry_run) {
    for (const auto& dir : {root / "packs", root / "index"}) util::remove_stale_temporaries(dir);
  }
  std::uint64_t before = stored_bytes(root);
  auto used = used_frames(root, dry_run, collected);
  auto plans = plan_packs(root, used, repack_percent, collected);
  if (dry_run) return collected;
  auto sealed = copy_used_frames(root, plans);
  remove_old_packs(root, std::move(plans), sealed);
  std::uint64_t after = stored_bytes(root);
  collected.bytes_freed = before > after ? before - after : 0;
  return collected;
}

}  // namespace dockform::store
