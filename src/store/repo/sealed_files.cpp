// The repository's files as the repository code sees them: in an encrypted
// repository, packs, pack indexes and recipes sealed in the age format as
// they are written and opened as they are read (repo_keys.hpp says to whom).
// A plain repository's files pass through untouched.
#include <map>

#include "dockform/archive/age_file.hpp"
#include "dockform/store/repo/repo_files.hpp"
#include "dockform/store/repo/repo_keys.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

namespace age = crypto::age;

namespace {
enum class Kind { as_stored, pack, record };

Kind kind_of(const std::string& name) {
  if (name.starts_with("packs/") && name.ends_with(".pack")) return Kind::pack;
  if (name.starts_with("index/")) return Kind::record;
  if (name.starts_with("snapshots/") && name.ends_with(".recipe")) return Kind::record;
  return Kind::as_stored;
}

// A pack being written, sealed as it comes: offsets stay the plaintext's.
class SealedPack : public PackOutput {
 public:
  SealedPack(std::unique_ptr<PackOutput> stored, const std::vector<age::Recipient>& recipients)
      : stored_(std::move(stored)), encryptor_(recipients, [this](const char* data, std::size_t size) {
          stored_->write({data, size});
        }) {}
  void write(std::string_view bytes) override {
    encryptor_.write(bytes);
    written_ += bytes.size();
  }
  std::uint64_t bytes_written() const override { return written_; }
  void commit(const std::string& name) override {
    encryptor_.finish();
    stored_->commit(name);
  }

 private:
  std::unique_ptr<PackOutput> stored_;
  age::Encryptor encryptor_;
  std::uint64_t written_ = 0;
};

// A stored pack read at random offsets, for AgeFile.
class StoredRange : public archive::RandomAccess {
 public:
  StoredRange(RepoFiles& files, std::string name, std::uint64_t size)
      : files_(files), name_(std::move(name)), size_(size) {}
  std::uint64_t size() override { return size_; }
  std::string read(std::uint64_t offset, std::size_t length) override {
    bytes_read_ += length;
    return files_.read_range(name_, offset, length);
  }

 private:
  RepoFiles& files_;
  std::string name_;
  std::uint64_t size_;
};

class SealedFiles : public RepoFiles {
 public:
  explicit SealedFiles(std::unique_ptr<RepoFiles> stored) : stored_(std::move(stored)) {}
  const Location& root() const override { return stored_->root(); }

  std::optional<std::string> read(const std::string& name) override {
    auto text = stored_->read(name);
    if (!text || kind_of(name) == Kind::as_stored || !keys()) return text;
    return open(*text, name);
  }
  std::string read_range(const std::string& name, std::uint64_t offset, std::size_t length) override {
    if (kind_of(name) != Kind::pack || !keys()) return stored_->read_range(name, offset, length);
    try {
      return pack(name).read(offset, length);
    } catch (const age::AgeError& e) {
      undecryptable(name, e);
    }
  }
  std::optional<std::uint64_t> size(const std::string& name) override {
    auto stored = stored_->size(name);
    if (!stored || kind_of(name) != Kind::pack || !keys()) return stored;
    return pack(name).size();
  }
  bool write_new(const std::string& name, std::string_view bytes) override {
    if (kind_of(name) == Kind::as_stored || !keys()) return stored_->write_new(name, bytes);
    return stored_->write_new(name, keys_->seal(bytes, kind_of(name) == Kind::record));
  }
  void remove(const std::string& name) override { stored_->remove(name); }
  std::vector<Entry> list(const std::string& folder) override { return stored_->list(folder); }
  std::vector<std::string> folders(const std::string& folder) override { return stored_->folders(folder); }
  void sync(const std::string& folder) override { stored_->sync(folder); }
  void prepare(const std::vector<std::string>& folders) override { stored_->prepare(folders); }
  std::unique_ptr<PackOutput> new_pack() override {
    if (!keys()) return stored_->new_pack();
    return std::make_unique<SealedPack>(stored_->new_pack(), keys_->pack_recipients());
  }
  std::unique_ptr<RepoLockHold> lock(RepoLock::Mode mode) override { return stored_->lock(mode); }
  std::string content_id(std::string_view bytes) override {
    return keys() ? keys_->content_id(bytes) : stored_->content_id(bytes);
  }
  bool reads_frames() override { return !keys() || keys_->reads_packs(); }
  bool sealed() override { return keys() != nullptr; }

 private:
  // A sealed file that does not authenticate: damaged (exit 3).
  [[noreturn]] void undecryptable(const std::string& name, const age::AgeError& e) const {
    throw Error("checksum mismatch: " + show(name) + " does not decrypt: " + e.what(), Exit::refused);
  }

  // The repository's keys; nullptr when it is plain. Asked when first needed.
  const RepoKeys* keys() {
    if (!asked_) {
      auto found = repository_keys(*stored_);
      asked_ = found.has_value();
      if (found) keys_ = *found;
    }
    return keys_.get();
  }

  std::string open(const std::string& sealed, const std::string& name) {
    if (kind_of(name) == Kind::pack) keys_->require_reader(show(name));
    try {
      return age::decrypt_all(sealed, keys_->openers());
    } catch (const age::AgeError& e) {
      if (e.kind() == age::ErrorKind::no_match) {
        throw KeyMissing(show(name) + " opens with none of the keys given: " + e.what());
      }
      undecryptable(name, e);
    }
  }

  // The pack opened for reads at random (its header read once): a restore
  // reads one pack after another, so a few stay open.
  archive::AgeFile& pack(const std::string& name) {
    auto found = packs_.find(name);
    if (found != packs_.end()) return *found->second;
    keys_->require_reader(show(name));
    auto size = stored_->size(name);
    if (!size) throw Error("checksum mismatch: pack " + show(name) + " is missing", Exit::refused);
    if (packs_.size() >= kOpenPacks) packs_.clear();
    try {
      auto file =
          std::make_unique<archive::AgeFile>(std::make_unique<StoredRange>(*stored_, name, *size), keys_->openers());
      return *packs_.emplace(name, std::move(file)).first->second;
    } catch (const age::AgeError& e) {
      undecryptable(name, e);
    }
  }

  static constexpr std::size_t kOpenPacks = 8;
  std::unique_ptr<RepoFiles> stored_;
  std::shared_ptr<const RepoKeys> keys_;
  bool asked_ = false;
  std::map<std::string, std::unique_ptr<archive::AgeFile>> packs_;
};
}  // namespace

std::unique_ptr<RepoFiles> open_repo_files(const Location& root) {
  return std::make_unique<SealedFiles>(open_stored_repo_files(root));
}

}  // namespace dockform::store
