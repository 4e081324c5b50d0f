#pragma once
// The frames of a volume's newest snapshot in a repository, by the SHA-256 of
// the tar bytes each holds (its seek table's), for the next snapshot of the
// volume to take as they are instead of compressing the same chunk again
// (archive::FrameReuse). The content-defined cuts give an unchanged region
// the same chunks night after night, so a night that changed 1% of a volume
// compresses about 1% of it. Only frames made at the same zstd level are
// taken: zstd gives the same bytes for the same input and parameters, so the
// snapshot is byte for byte the one compressing everything would give.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "dockform/archive/frame_writer.hpp"
#include "dockform/archive/seekable.hpp"
#include "dockform/store/repo/repository.hpp"

namespace dockform::store {

// The same snapshot also lends its frames as they are to a nightly run's
// splices (archive::EarlierFrames), with its members and its name: the helper
// skips what did not change since, and the snapshot takes those members'
// bytes from here (snapshot.cpp, "the nightly fast path").
class FrameCache : public archive::EarlierFrames {
 public:
  // The newest finished snapshot of `volume` whose recipe records `level`
  // (nullptr when there is none). `index` is the pack index of the snapshot
  // being written, which holds the lock and outlives the cache.
  static std::unique_ptr<FrameCache> open(const Location& root, const std::string& volume, int level,
                                          const PackIndex& index);

  // Thread-safe (the frame pool's workers call it). A frame whose stored
  // bytes no longer match their id is not taken: the chunk is compressed.
  bool find(const std::string& sha256, std::size_t size, std::string& compressed, std::string& id);
  std::uint64_t reused_frames() const { return reused_frames_; }
  std::uint64_t reused_bytes() const { return reused_bytes_; }

  const std::vector<archive::Frame>& frames() const override { return table_.frames; }
  std::string stored(std::size_t number, std::string& id) override;
  std::string tar_bytes(std::size_t number) override;
  const std::string& stem() const { return stem_; }
  const std::vector<archive::Member>& members() const { return table_.members; }
  std::uint64_t members_end() const { return table_.members_end; }

 private:
  struct Known {
    RecipeFrame frame;        // as stored
    std::uint32_t tar_bytes;  // what it decompresses to
  };
  FrameCache(std::unique_ptr<RepoFiles> files, const PackIndex& index) : files_(std::move(files)), index_(index) {}
  // The frame's stored bytes when they are still what its id names.
  std::optional<std::string> read_stored(const RecipeFrame& frame);

  std::mutex mutex_;
  std::unique_ptr<RepoFiles> files_;  // its own: the sink writes packs through another
  const PackIndex& index_;
  std::unordered_map<std::string, Known> frames_;  // by the hex SHA-256 of their tar bytes
  std::string stem_;
  Recipe recipe_;
  archive::SeekableIndex table_;  // its seek table and members
  std::unique_ptr<archive::RandomAccess> file_;
  std::uint64_t reused_frames_ = 0;
  std::uint64_t reused_bytes_ = 0;
};

}  // namespace dockform::store
