// A repository as a Store (listing, sidecars, sinks) and its snapshots read
// back as the standalone files they stand for.
#include <algorithm>
#include <cstring>
#include <map>

#include <spdlog/spdlog.h>
#include <stdexcept>

#include "dockform/archive/sidecar.hpp"
#include "dockform/store/repo/repo_lock.hpp"
#include "dockform/store/repo/repo_sink.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
// One snapshot's recipe and where its frames are; reads a frame checked
// against its id.
class RepoSnapshot {
 public:
  // Holds the repository lock shared while it lives: a prune's collection
  // waits, so no frame of the recipe leaves its pack during the read.
  explicit RepoSnapshot(const RepoRef& ref)
      : own_files_(open_repo_files(ref.root)),
        lock_(std::make_unique<RepoLock>(*own_files_, RepoLock::Mode::shared)),
        files_(*own_files_),
        own_index_(std::make_unique<PackIndex>()),
        index_(*own_index_),
        ref_(ref),
        name_(ref.text()) {
    read_recipe();
    *own_index_ = load_pack_index(files_);
  }
  // A snapshot read by a writer that holds the lock and has loaded `index`
  // already (FrameCache): no second lock, no second reading of the indexes.
  RepoSnapshot(RepoFiles& files, const PackIndex& index, const RepoRef& ref)
      : files_(files), index_(index), ref_(ref), name_(ref.text()) {
    read_recipe();
  }

  const std::string& name() const { return name_; }
  const RepoRef& ref() const { return ref_; }
  RepoFiles& files() { return files_; }
  const Recipe& recipe() const { return recipe_; }
  std::uint64_t size() const { return recipe_.size; }
  std::size_t frame_count() const { return recipe_.frames.size(); }
  std::uint64_t frame_offset(std::size_t i) const { return offsets_.at(i); }
  // The frame holding file offset `offset`.
  std::size_t frame_at(std::uint64_t offset) const {
    auto after = std::upper_bound(offsets_.begin(), offsets_.end(), offset);
    return static_cast<std::size_t>(after - offsets_.begin()) - 1;
  }

  // Frame `i`'s bytes as stored; a frame that is missing or differs from its
  // id is a damaged repository: exit 3.
  std::string frame(std::size_t i) { return frames_from(i, 0).first; }

  // Frames i, i+1, ... that lie back to back in one pack, up to `budget`
  // bytes (at least one frame), read with one request: a snapshot's new
  // frames were packed in its order, so a bucket serves a restore in few
  // ranged GETs rather than one per frame. Each is checked against its id.
  // Returns their bytes and how many they are.
  std::pair<std::string, std::size_t> frames_from(std::size_t i, std::uint64_t budget) {
    const auto& first = locate(i);
    std::uint64_t end = first.offset + first.length;
    std::size_t count = 1;
    while (i + count < frame_count()) {
      const auto& next = locate(i + count);
      if (next.pack != first.pack || next.offset != end || end + next.length - first.offset > budget) break;
      end += next.length;
      ++count;
    }
    std::string pack = pack_file(first);
    std::string bytes = files_.read_range(pack, first.offset, static_cast<std::size_t>(end - first.offset));
    std::string_view rest(bytes);
    for (std::size_t k = i; k < i + count; ++k) {
      const auto& wanted = recipe_.frames[k];
      if (files_.content_id(rest.substr(0, wanted.length)) != wanted.id) {
        throw Error(
            "checksum mismatch: frame " + wanted.id + " of " + name_ + " is damaged in pack " + files_.show(pack),
            Exit::refused);
      }
      rest.remove_prefix(wanted.length);
    }
    return {std::move(bytes), count};
  }

  // The recipe's frames that are not stored whole, reading none: missing
  // from the pack indexes, or lying past the end of their pack file.
  std::vector<std::string> unstored_frames() {
    std::vector<std::string> problems;
    std::map<std::uint32_t, std::uint64_t> pack_sizes;  // by pack number, stat'ed once each
    for (const auto& frame : recipe_.frames) {
      const auto* where = index_.find(frame.id);
      if (!where || where->length != frame.length) {
        problems.push_back("frame " + frame.id + " is missing from the repository's pack indexes");
        continue;
      }
      auto [size, unseen] = pack_sizes.try_emplace(where->pack, 0);
      if (unseen) size->second = files_.size(pack_file(*where)).value_or(0);
      if (where->offset + where->length > size->second) {
        problems.push_back("frame " + frame.id + " lies past the end of pack " + index_.pack_name(where->pack) +
                           " (missing or cut short)");
      }
    }
    return problems;
  }

 private:
  std::string pack_file(const FrameLocation& where) const { return "packs/" + index_.pack_name(where.pack) + ".pack"; }

  // Where frame `i` is stored; missing is a damaged repository: exit 3.
  const FrameLocation& locate(std::size_t i) const {
    const auto& wanted = recipe_.frames.at(i);
    const auto* where = index_.find(wanted.id);
    if (!where || where->length != wanted.length) {
      throw Error("checksum mismatch: frame " + wanted.id + " of " + name_ + " is missing from the repository",
                  Exit::refused);
    }
    return *where;
  }

  void read_recipe() {
    auto text = files_.read(ref_.recipe());
    if (!text || !files_.size(ref_.sidecar())) {
      throw Error("snapshot " + name_ + " does not exist in the repository " + ref_.root.text());
    }
    recipe_ = decode_recipe(*text, files_.show(ref_.recipe()));
    std::uint64_t offset = 0;
    for (const auto& frame : recipe_.frames) {
      offsets_.push_back(offset);
      offset += frame.length;
    }
  }

  std::unique_ptr<RepoFiles> own_files_;  // null when borrowed
  std::unique_ptr<RepoLock> lock_;        // null when the caller holds it
  RepoFiles& files_;
  std::unique_ptr<PackIndex> own_index_;
  const PackIndex& index_;
  RepoRef ref_;
  std::string name_;
  Recipe recipe_;
  std::vector<std::uint64_t> offsets_;
};

// The snapshot file in order, as restore and verify read a file.
class RepoByteSource : public archive::ByteSource {
  // At most this much is read with one request (and held).
  static constexpr std::uint64_t kReadAhead = 8u << 20;

 public:
  explicit RepoByteSource(const RepoRef& ref) : snapshot_(ref) {}
  const std::string& name() const override { return snapshot_.name(); }
  std::uint64_t size() const override { return snapshot_.size(); }

  std::string read_head(std::size_t size) override {
    std::string head;
    for (std::size_t i = 0; i < snapshot_.frame_count() && head.size() < size; ++i) head += snapshot_.frame(i);
    head.resize(std::min(size, head.size()));
    return head;
  }

  std::size_t read(char* buffer, std::size_t size) override {
    while (used_ == current_.size()) {
      if (next_ == snapshot_.frame_count()) return 0;
      util::throw_if_interrupted();
      auto [bytes, count] = snapshot_.frames_from(next_, kReadAhead);
      current_ = std::move(bytes);
      next_ += count;
      used_ = 0;
    }
    std::size_t n = std::min(size, current_.size() - used_);
    std::memcpy(buffer, current_.data() + used_, n);
    used_ += n;
    return n;
  }

  // The sidecar is kept under snapshots/<volume>/.
  std::string sibling_name(const std::string& filename) const override {
    return (snapshot_.ref().root / "snapshots" / snapshot_.ref().volume / filename).text();
  }
  std::optional<std::string> read_sibling(const std::string& filename) override {
    return snapshot_.files().read("snapshots/" + snapshot_.ref().volume + "/" + filename);
  }

 private:
  RepoSnapshot snapshot_;
  std::string current_;
  std::size_t used_ = 0;
  std::size_t next_ = 0;
};

// Ranges of the snapshot file (listing and extracting by the seekable index).
class RepoRandomAccess : public archive::RandomAccess {
 public:
  explicit RepoRandomAccess(const RepoRef& ref) : snapshot_(ref) {}
  explicit RepoRandomAccess(RepoSnapshot snapshot) : snapshot_(std::move(snapshot)) {}
  RepoRandomAccess(RepoFiles& files, const PackIndex& index, const RepoRef& ref) : snapshot_(files, index, ref) {}
  std::uint64_t size() override { return snapshot_.size(); }

  std::string read(std::uint64_t offset, std::size_t length) override {
    if (offset + length > snapshot_.size()) {
      throw Error(snapshot_.name() + " is shorter than its seek table says", Exit::refused);
    }
    std::string out;
    while (out.size() < length) {
      std::uint64_t at = offset + out.size();
      std::size_t i = snapshot_.frame_at(at);
      if (i != cached_number_) {
        cached_ = snapshot_.frame(i);
        cached_number_ = i;
      }
      std::size_t skip = static_cast<std::size_t>(at - snapshot_.frame_offset(i));
      out.append(cached_, skip, std::min(cached_.size() - skip, length - out.size()));
    }
    bytes_read_ += length;
    return out;
  }

 private:
  RepoSnapshot snapshot_;
  std::string cached_;
  std::size_t cached_number_ = static_cast<std::size_t>(-1);
};

// A prune's hold of the repository lock (RepoStore::lock_for_prune).
class RepoPruneLock : public PruneLock {
 public:
  RepoPruneLock(RepoFiles& files, RepoLock::Mode mode) : mode_(mode), lock_(files, mode) {}
  void check_held() const override { lock_.check_held(); }
  RepoLock::Mode mode() const { return mode_; }
  const RepoLock& lock() const { return lock_; }

 private:
  RepoLock::Mode mode_;
  RepoLock lock_;
};

// A repository's snapshots, listed as <root>/<volume>/<stem>.tar.zst (refs)
// beside their sidecars (the real files).
class RepoStore : public Store {
 public:
  // A bad DOCKFORM_REPO_LOCK_WAIT fails before a prune removes anything.
  explicit RepoStore(const Location& base) : files_(open_repo_files(base)) { repo_lock_wait(); }

  std::vector<std::string> volumes() override { return files_->folders("snapshots"); }

  std::vector<StoredFile> files(const std::string& volume) override {
    std::vector<StoredFile> files;
    for (const auto& entry : files_->list("snapshots/" + volume)) {
      if (entry.name.ends_with(".json")) {
        files.push_back({files_->root() / entry.name, entry.size, entry.modified});
      } else if (entry.name.ends_with(".recipe")) {
        files.push_back(data_file(volume, entry));
      }
    }
    return files;
  }

  archive::Sidecar read_sidecar(const Location& file) override {
    auto text = files_->read(relative(file));
    if (!text) throw Error("sidecar " + file.text() + " vanished");
    return archive::parse_sidecar(*text, file.text());
  }

  std::unique_ptr<SnapshotSink> open_sink(const std::string& volume, std::time_t start, const std::string& spec_hash,
                                          const std::string& extension) override {
    return open_repo_sink(files_->root(), volume, start, spec_hash, extension);
  }

  // A snapshot's record goes (under the prune's lock); its frames stay in
  // their packs until collect_unused_frames (prune, after the retention)
  // removes them.
  void remove(const Location& file) override {
    std::string name = relative(file);
    if (name.ends_with(".tar.zst")) {
      auto slash = name.find('/');
      RepoRef ref{files_->root(), name.substr(0, slash), name.substr(slash + 1, name.size() - slash - 9)};
      files_->remove(ref.recipe());
    } else {
      files_->remove(name);
    }
  }
  void sync(const std::string& volume) override { files_->sync("snapshots/" + volume); }
  bool sealed() override { return files_->sealed(); }
  // Held from before the retention removes a recipe: a prune that cannot
  // have the lock removes nothing.
  std::unique_ptr<PruneLock> lock_for_prune(bool dry_run) override {
    return std::make_unique<RepoPruneLock>(*files_, dry_run ? RepoLock::Mode::shared : RepoLock::Mode::exclusive);
  }
  // Under the prune's hold: taking the lock again would wait for that hold.
  std::optional<Collected> collect_unused(const PruneLock& held, bool dry_run, int repack_percent) override {
    const auto* hold = dynamic_cast<const RepoPruneLock*>(&held);
    if (hold == nullptr || (!dry_run && hold->mode() != RepoLock::Mode::exclusive)) {
      throw std::logic_error("the collection needs the repository lock held alone by lock_for_prune");
    }
    return collect_unused_frames(*files_, hold->lock(), dry_run, repack_percent);
  }

 private:
  // The name inside the repository of a file this store listed.
  std::string relative(const Location& file) const {
    const std::string& root = files_->root().text();
    const std::string& text = file.text();
    if (!text.starts_with(root + "/")) throw std::logic_error(text + " is not in the repository " + root);
    return text.substr(root.size() + 1);
  }

  // The ref of a recipe, with the size of the file it stands for.
  StoredFile data_file(const std::string& volume, const RepoFiles::Entry& recipe) {
    std::string filename = recipe.name.substr(recipe.name.rfind('/') + 1);
    RepoRef ref{files_->root(), volume, filename.substr(0, filename.size() - 7)};
    std::uint64_t size = 0;
    try {
      size = decode_recipe(files_->read(recipe.name).value_or(""), files_->show(recipe.name)).size;
    } catch (const KeyMissing& e) {
      // An encrypted repository without a key: listed with size 0, said once.
      if (!said_no_key_) spdlog::warn("sizes unknown: {}", e.what());
      said_no_key_ = true;
    } catch (const Error&) {
      // A damaged recipe is listed with size 0; verify and restore name the damage.
    }
    return {files_->root() / (volume + "/" + ref.stem + ".tar.zst"), size, recipe.modified};
  }

  std::unique_ptr<RepoFiles> files_;
  bool said_no_key_ = false;
};
}  // namespace

std::unique_ptr<Store> open_repo_store(const Location& base) { return std::make_unique<RepoStore>(base); }

std::unique_ptr<archive::ByteSource> open_repo_snapshot(const RepoRef& ref) {
  return std::make_unique<RepoByteSource>(ref);
}

std::unique_ptr<archive::RandomAccess> open_repo_random_access(const RepoRef& ref) {
  return std::make_unique<RepoRandomAccess>(ref);
}

std::unique_ptr<archive::RandomAccess> open_repo_random_access(RepoFiles& files, const PackIndex& index,
                                                               const RepoRef& ref) {
  return std::make_unique<RepoRandomAccess>(files, index, ref);
}

RecipeCheck check_recipe(const RepoRef& ref) {
  RepoSnapshot snapshot(ref);
  RecipeCheck check{snapshot.recipe().sha256, snapshot.recipe().size, snapshot.unstored_frames(), nullptr};
  // The same recipe and pack indexes (and lock) for the trailers' read: a
  // bucket's index files are fetched once.
  check.file = std::make_unique<RepoRandomAccess>(std::move(snapshot));
  return check;
}

}  // namespace dockform::store
