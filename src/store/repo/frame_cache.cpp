#include "dockform/store/repo/frame_cache.hpp"

#include <algorithm>

#include "dockform/archive/seekable.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::store {

namespace {
// How many of the newest snapshots are looked at for one made at the level
// wanted: a volume snapshotted at two levels in turn still finds one.
constexpr std::size_t kCandidates = 3;

}  // namespace

std::unique_ptr<FrameCache> FrameCache::open(const Location& root, const std::string& volume, int level,
                                             const PackIndex& index) {
  auto files = open_repo_files(root);
  // A writer of an encrypted repository cannot read the frames back.
  if (!files->reads_frames()) return nullptr;
  // Newest first: a stem starts with its UTC time.
  auto stems = volume_snapshots(*files, volume).finished;
  std::reverse(stems.begin(), stems.end());
  for (std::size_t i = 0; i < stems.size() && i < kCandidates; ++i) {
    RepoRef ref{root, volume, stems[i]};
    auto text = files->read(ref.recipe());
    if (!text) continue;
    auto recipe = decode_recipe(*text, files->show(ref.recipe()));
    if (recipe.level != level) continue;
    // The seek table and index from the snapshot's tail, each frame checked against its id.
    auto file = open_repo_random_access(*files, index, ref);
    auto table = archive::read_seekable_index(*file);
    if (!table || table->frames.size() > recipe.frames.size()) continue;
    std::unique_ptr<FrameCache> cache(new FrameCache(std::move(files), index));
    for (std::size_t k = 0; k < table->frames.size(); ++k) {
      const auto& frame = table->frames[k];
      // The recipe's first frames are the data frames, in the seek table's order.
      if (recipe.frames[k].length != frame.compressed) return nullptr;
      cache->frames_.emplace(frame.sha256, Known{recipe.frames[k], frame.decompressed});
    }
    cache->stem_ = stems[i];
    cache->recipe_ = std::move(recipe);
    cache->table_ = std::move(*table);
    cache->file_ = std::move(file);
    return cache;
  }
  return nullptr;
}

bool FrameCache::find(const std::string& sha256, std::size_t size, std::string& compressed, std::string& id) {
  std::lock_guard lock(mutex_);
  auto known = frames_.find(sha256);
  if (known == frames_.end() || known->second.tar_bytes != size) return false;
  auto stored = read_stored(known->second.frame);
  if (!stored) return false;  // not stored under its id: compressed, and stored
  compressed = std::move(*stored);
  id = known->second.frame.id;  // read_stored checked the bytes against it
  ++reused_frames_;
  reused_bytes_ += size;
  return true;
}

// Nothing when the repository does not hold the frame under that id (the
// chunk is then compressed and stored). One it holds but cannot give back
// intact stops the snapshot: the frame is not stored twice, so the snapshot
// would name the damaged copy and be found out only by a restore or verify.
std::optional<std::string> FrameCache::read_stored(const RecipeFrame& frame) {
  const auto* where = index_.find(frame.id);
  if (!where || where->length != frame.length) return std::nullopt;
  const std::string pack = "packs/" + index_.pack_name(where->pack) + ".pack";
  std::string bytes;
  std::string problem;
  try {
    bytes = files_->read_range(pack, where->offset, where->length);
    if (files_->content_id(bytes) != frame.id) problem = "checksum mismatch: its bytes are not those its id names";
  } catch (const Error& e) {
    problem = e.what();
  }
  if (problem.empty()) return bytes;
  throw Error("frame " + frame.id.substr(0, 16) + " in " + files_->show(pack) + " is damaged (" + problem +
                  "); `dockform volume verify` names the snapshots that use it, and the next snapshot stores it "
                  "again once none does (prune them, or start a new repository)",
              Exit::refused);
}

// A splice cannot fall back on compressing: it never had the tar bytes.
std::string FrameCache::stored(std::size_t number, std::string& id) {
  std::lock_guard lock(mutex_);
  const auto& frame = recipe_.frames.at(number);
  auto bytes = read_stored(frame);
  if (!bytes) {
    throw Error("frame " + std::to_string(number) + " of " + stem_ +
                    " is missing from the repository's index: `dockform volume verify` names the snapshots that "
                    "use it",
                Exit::refused);
  }
  id = frame.id;  // read_stored checked the bytes against it
  return std::move(*bytes);
}

std::string FrameCache::tar_bytes(std::size_t number) {
  std::lock_guard lock(mutex_);
  return archive::read_frame(*file_, table_, number);
}

}  // namespace dockform::store
