// A snapshot into a repository: its frames that the repository lacks go into
// packs, then its recipe, then (SnapshotSink::write_sidecar) its sidecar.
// The order of what becomes visible is the crash rule (docs/storage.md): a
// pack under its final name before its index, an index before any recipe that
// uses its frames, a recipe before the sidecar that makes it a snapshot.
#include <memory>
#include <optional>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "dockform/store/naming.hpp"
#include "dockform/store/repo/frame_cache.hpp"
#include "dockform/store/repo/repo_lock.hpp"
#include "dockform/store/repo/repo_sink.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::store {

namespace {
class RepoSink : public SnapshotSink {
 public:
  RepoSink(const Location& root, const std::string& volume, std::time_t start, std::string spec_hash,
           std::string extension)
      : files_(open_repo_files(root)),
        lock_(*files_, RepoLock::Mode::shared),
        volume_(volume),
        folder_("snapshots/" + volume),
        known_(prepare(*files_, folder_)),
        chunk_sizes_(repo_chunk_sizes(*files_)),
        pack_(*files_),
        splitter_([this](std::string_view frame) { add_frame(frame); }),
        start_(start),
        spec_hash_(std::move(spec_hash)),
        extension_(std::move(extension)) {
    files_->content_id({});  // an encrypted repository without this host's key: refused before anything is written
  }

  void write(const void* data, std::size_t size) override {
    // A frame named in advance, only when this write starts one.
    if (expected_ && (!splitter_.at_boundary() || expected_->second != size)) expected_.reset();
    splitter_.write(data, size);
    expected_.reset();
    written_ += size;
  }
  void expect_stored(const std::string& id, std::size_t size) override { expected_.emplace(id, size); }
  std::uint64_t bytes_written() const override { return written_; }

  // Packs sealed and indexed, then the recipe under the first free stem.
  std::time_t commit(const std::string& sha256) override {
    splitter_.finish();
    pack_.finish();
    if (cache_) {
      spdlog::debug("{} frames ({} bytes of tar) taken from the previous snapshot as they were",
                    cache_->reused_frames(), cache_->reused_bytes());
    }
    recipe_.sha256 = sha256;
    std::string text = encode_recipe(recipe_);
    for (std::time_t t = start_; t < start_ + 3600; ++t) {
      std::string stem = snapshot_stem(t, spec_hash_);
      if (files_->size(folder_ + "/" + stem + ".json")) continue;
      if (files_->write_new(folder_ + "/" + stem + ".recipe", text)) return t;
    }
    throw Error("no free snapshot name in " + files_->show(folder_) + " for an hour after " + iso_timestamp(start_));
  }

  void write_sidecar(const std::string& stem, std::string_view text) override {
    if (!files_->write_new(folder_ + "/" + stem + ".json", text)) {
      throw Error("sidecar " + location(stem + ".json") + " appeared while writing it");
    }
  }

  void remove_data(const std::string& stem) override { files_->remove(folder_ + "/" + stem + ".recipe"); }

  // The data file by its ref (a name inside the repository), the sidecar where it is.
  std::string location(const std::string& filename) const override {
    if (filename.ends_with(".json")) return files_->show(folder_ + "/" + filename);
    return files_->show(volume_ + "/" + filename);
  }
  const std::string& extension() const override { return extension_; }
  bool sealed() override { return files_->sealed(); }
  bool builds_on_earlier() const override { return true; }
  std::optional<EarlierSnapshot> earlier() override {
    if (!cache_) return std::nullopt;
    return EarlierSnapshot{cache_->stem(), &cache_->members(), cache_->members_end(), cache_.get()};
  }
  archive::ChunkSizes chunk_sizes() const override { return chunk_sizes_; }

  // The volume's newest snapshot at this level lends its frames (frame_cache.hpp);
  // without one, or when it cannot be read, every chunk is compressed.
  // Opened once: each of a snapshot's streams (an attach retry) asks again.
  archive::FrameReuse frame_reuse(int level) override {
    if (!cache_opened_ || recipe_.level != level) {
      recipe_.level = level;
      cache_opened_ = true;
      try {
        cache_ = FrameCache::open(files_->root(), volume_, level, known_);
      } catch (const Error& e) {
        spdlog::debug("no frames reused: {}", e.what());
      }
    }
    if (!cache_) return {};
    return [this](const std::string& sha256, std::size_t size, std::string& compressed, std::string& id) {
      return cache_->find(sha256, size, compressed, id);
    };
  }

 private:
  static PackIndex prepare(RepoFiles& files, const std::string& folder) {
    files.prepare({"packs", "index", folder});
    return load_pack_index(files);
  }

  void add_frame(std::string_view frame) {
    std::string id;
    if (expected_ && expected_->second == frame.size()) {
      id = std::move(expected_->first);
      expected_.reset();
    } else {
      id = files_->content_id(frame);
    }
    recipe_.frames.push_back({id, static_cast<std::uint32_t>(frame.size())});
    recipe_.size += frame.size();
    if (!known_.find(id) && added_.insert(id).second) pack_.add(id, frame);
  }

  // Held shared from before the pack indexes are read until the sidecar is
  // written: a prune's collection cannot remove a frame this snapshot found
  // stored and names in its recipe without storing it again.
  std::unique_ptr<RepoFiles> files_;
  RepoLock lock_;
  std::string volume_;
  std::string folder_;  // snapshots/<volume>
  PackIndex known_;     // frames already stored
  archive::ChunkSizes chunk_sizes_;
  std::unordered_set<std::string> added_;  // frames this snapshot stored
  PackWriter pack_;
  std::unique_ptr<FrameCache> cache_;
  bool cache_opened_ = false;
  FrameSplitter splitter_;
  Recipe recipe_;
  std::uint64_t written_ = 0;
  std::optional<std::pair<std::string, std::size_t>> expected_;  // expect_stored's, for the next write
  std::time_t start_;
  std::string spec_hash_;
  std::string extension_;
};
}  // namespace

std::unique_ptr<SnapshotSink> open_repo_sink(const Location& root, const std::string& volume, std::time_t start,
                                             const std::string& spec_hash, const std::string& extension) {
  if (extension != ".tar.zst") {
    throw Error(
        "a repository's snapshots are not encrypted with -r, -R or --passphrase-file (nor "
        "DOCKFORM_RECIPIENTS or the manifest's snapshots.recipients): an encrypted repository seals them "
        "itself, to the keys given to `dockform repo init`",
        Exit::usage);
  }
  return std::make_unique<RepoSink>(root, volume, start, spec_hash, extension);
}

}  // namespace dockform::store
