// A repository as a Store (listing, sidecars, sinks) and its snapshots read
// back as the standalone files they stand for.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "dockform/store/repo/repo_lock.hpp"
#include "dockform/store/repo/repo_sink.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
std::optional<std::string> read_if_present(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One snapshot's recipe and where its frames are; reads a frame checked
// against its id.
class RepoSnapshot {
 public:
  // Holds the repository lock shared while it lives: a prune's collection
  // waits, so no frame of the recipe leaves its pack during the read.
  explicit RepoSnapshot(const RepoRef& ref) : lock_(ref.root, RepoLock::Mode::shared), ref_(ref), name_(ref.text()) {
    auto text = read_if_present(ref.recipe());
    if (!text || !std::filesystem::exists(ref.sidecar())) {
      throw Error("snapshot " + name_ + " does not exist in the repository " + ref.root.string());
    }
    recipe_ = decode_recipe(*text, ref.recipe().string());
    index_ = load_pack_index(ref.root);
    std::uint64_t offset = 0;
    for (const auto& frame : recipe_.frames) {
      offsets_.push_back(offset);
      offset += frame.length;
    }
  }

  const std::string& name() const { return name_; }
  const RepoRef& ref() const { return ref_; }
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
  std::string frame(std::size_t i) {
    const auto& wanted = recipe_.frames.at(i);
    const auto* where = index_.find(wanted.id);
    if (!where || where->length != wanted.length) {
      throw Error("checksum mismatch: frame " + wanted.id + " of " + name_ + " is missing from the repository",
                  Exit::refused);
    }
    std::string pack = pack_file(*where);
    std::string bytes = pread_all(pack, where->offset, where->length);
    if (util::sha256_hex(bytes) != wanted.id) {
      throw Error("checksum mismatch: frame " + wanted.id + " of " + name_ + " is damaged in pack " + pack,
                  Exit::refused);
    }
    return bytes;
  }

  // The recipe's frames that are not stored whole, reading none: missing
  // from the pack indexes, or lying past the end of their pack file.
  std::vector<std::string> unstored_frames() const {
    std::vector<std::string> problems;
    std::map<std::uint32_t, std::uint64_t> pack_sizes;  // by pack number, stat'ed once each
    for (const auto& frame : recipe_.frames) {
      const auto* where = index_.find(frame.id);
      if (!where || where->length != frame.length) {
        problems.push_back("frame " + frame.id + " is missing from the repository's pack indexes");
        continue;
      }
      auto [size, unseen] = pack_sizes.try_emplace(where->pack, 0);
      if (unseen) {
        std::error_code error;
        auto bytes = std::filesystem::file_size(pack_file(*where), error);
        size->second = error ? 0 : bytes;
      }
      if (where->offset + where->length > size->second) {
        problems.push_back("frame " + frame.id + " lies past the end of pack " + index_.pack_name(where->pack) +
                           " (missing or cut short)");
      }
    }
    return problems;
  }

 private:
  std::string pack_file(const FrameLocation& where) const {
    return (ref_.root / "packs" / (index_.pack_name(where.pack) + ".pack")).string();
  }

  std::string pread_all(const std::string& pack, std::uint64_t offset, std::size_t length) {
    auto& fd = packs_[pack];
    if (!fd.valid()) {
      fd = util::Fd(::open(pack.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) throw Error("cannot open pack " + pack + ": " + std::strerror(errno), Exit::refused);
    }
    std::string out(length, '\0');
    auto got = util::pread_full(fd.get(), out.data(), length, offset);
    if (!got) throw Error("cannot read pack " + pack + ": " + std::strerror(errno));
    if (*got < length)
      throw Error("checksum mismatch: pack " + pack + " is shorter than its index says", Exit::refused);
    return out;
  }

  RepoLock lock_;
  RepoRef ref_;
  std::string name_;
  Recipe recipe_;
  PackIndex index_;
  std::vector<std::uint64_t> offsets_;
  std::map<std::string, util::Fd> packs_;
};

// The snapshot file in order, as restore and verify read a file.
class RepoByteSource : public archive::ByteSource {
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
      current_ = snapshot_.frame(next_++);
      used_ = 0;
    }
    std::size_t n = std::min(size, current_.size() - used_);
    std::memcpy(buffer, current_.data() + used_, n);
    used_ += n;
    return n;
  }

  // The sidecar is kept under snapshots/<volume>/.
  std::string sibling_name(const std::string& filename) const override {
    return (snapshot_.ref().root / "snapshots" / snapshot_.ref().volume / filename).string();
  }
  std::optional<std::string> read_sibling(const std::string& filename) override {
    return read_if_present(sibling_name(filename));
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

// A repository's snapshots, listed as <root>/<volume>/<stem>.tar.zst (refs)
// beside their sidecars (the real files).
class RepoStore : public Store {
 public:
  // A bad DOCKFORM_REPO_LOCK_WAIT fails before a prune removes anything.
  explicit RepoStore(const Location& base) : root_(base.path()) { repo_lock_wait(); }

  std::vector<std::string> volumes() override {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& item : std::filesystem::directory_iterator(root_ / "snapshots", error)) {
      std::string name = item.path().filename().string();
      if (item.is_directory() && name[0] != '.') names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<StoredFile> files(const std::string& volume) override {
    std::vector<StoredFile> files;
    std::error_code error;
    for (const auto& item : std::filesystem::directory_iterator(root_ / "snapshots" / volume, error)) {
      std::string name = item.path().filename().string();
      if (name.empty() || name[0] == '.' || !item.is_regular_file()) continue;  // temporaries are hidden
      struct stat info;
      if (::stat(item.path().c_str(), &info) != 0) continue;  // gone since the listing
      if (name.ends_with(".json")) {
        files.push_back({Location::local(item.path()), static_cast<std::uint64_t>(info.st_size), info.st_mtime});
      } else if (name.ends_with(".recipe")) {
        files.push_back(data_file(volume, item.path(), info.st_mtime));
      }
    }
    return files;
  }

  archive::Sidecar read_sidecar(const Location& file) override { return archive::read_sidecar(file.path()); }

  std::unique_ptr<SnapshotSink> open_sink(const std::string& volume, std::time_t start, const std::string& spec_hash,
                                          const std::string& extension) override {
    return open_repo_sink(root_, volume, start, spec_hash, extension);
  }

  // A snapshot's record goes; its frames stay in their packs until
  // collect_unused_frames (prune, after the retention) removes them.
  void remove(const Location& file) override {
    if (auto ref = repository_ref(file.path())) {
      std::filesystem::remove(ref->recipe());
    } else {
      std::filesystem::remove(file.path());
    }
  }
  void sync(const std::string& volume) override { util::fsync_dir(root_ / "snapshots" / volume); }
  std::optional<Collected> collect_unused(bool dry_run, int repack_percent) override {
    return collect_unused_frames(root_, dry_run, repack_percent);
  }

 private:
  // The ref of a recipe, with the size of the file it stands for.
  StoredFile data_file(const std::string& volume, const std::filesystem::path& recipe, std::time_t modified) {
    std::string stem = recipe.stem().string();
    RepoRef ref{root_, volume, stem};
    std::uint64_t size = 0;
    try {
      size = decode_recipe(read_if_present(recipe).value_or(""), recipe.string()).size;
    } catch (const Error&) {
      // A damaged recipe is listed with size 0; verify and restore name the damage.
    }
    return {Location::local(ref.text()), size, modified};
  }

  std::filesystem::path root_;
};
}  // namespace

std::unique_ptr<Store> open_repo_store(const Location& base) { return std::make_unique<RepoStore>(base); }

std::unique_ptr<archive::ByteSource> open_repo_snapshot(const RepoRef& ref) {
  return std::make_unique<RepoByteSource>(ref);
}

std::unique_ptr<archive::RandomAccess> open_repo_random_access(const RepoRef& ref) {
  return std::make_unique<RepoRandomAccess>(ref);
}

RecipeCheck check_recipe(const RepoRef& ref) {
  RepoSnapshot snapshot(ref);
  return {snapshot.recipe().sha256, snapshot.recipe().size, snapshot.unstored_frames()};
}

}  // namespace dockform::store
