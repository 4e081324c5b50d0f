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
    // The seek table from the snapshot's tail, each frame checked against its id.
    auto tail = open_repo_random_access(*files, index, ref);
    auto table = archive::read_seekable_index(*tail, nullptr, [](const archive::Member&) {});
    if (!table || table->frames.size() > recipe.frames.size()) continue;
    std::unique_ptr<FrameCache> cache(new FrameCache(std::move(files), index));
    for (std::size_t k = 0; k < table->frames.size(); ++k) {
      const auto& frame = table->frames[k];
      // The recipe's first frames are the data frames, in the seek table's order.
      if (recipe.frames[k].length != frame.compressed) return nullptr;
      cache->frames_.emplace(frame.sha256, Known{recipe.frames[k], frame.decompressed});
    }
    return cache;
  }
  return nullptr;
}

bool FrameCache::find(const std::string& sha256, std::size_t size, std::string& compressed) {
  std::lock_guard lock(mutex_);
  auto known = frames_.find(sha256);
  if (known == frames_.end() || known->second.tar_bytes != size) return false;
  const auto& frame = known->second.frame;
  const auto* where = index_.find(frame.id);
  if (!where || where->length != frame.length) return false;
  try {
    compressed = files_->read_range("packs/" + index_.pack_name(where->pack) + ".pack", where->offset, where->length);
  } catch (const Error&) {
    return false;  // compressed instead; a read of the snapshot names the damage
  }
  if (files_->content_id(compressed) != frame.id) return false;
  ++reused_frames_;
  reused_bytes_ += size;
  return true;
}

}  // namespace dockform::store
