// A repository's files in a local folder (fsynced temporaries linked under
// their names) or under a bucket's prefix (objects, each PUT durable once
// answered).
#include "dockform/store/repo/repo_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "dockform/store/repo/repository.hpp"
#include "dockform/store/repo/s3_repo_lock.hpp"
#include "dockform/store/s3/s3_client.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::store {

namespace {
namespace fs = std::filesystem;

// `name` inside `folder` ("" is the root).
std::string in_folder(const std::string& folder, const std::string& name) {
  return folder.empty() ? name : folder + "/" + name;
}

[[noreturn]] void cut_short(const std::string& shown) {
  throw Error("checksum mismatch: " + shown + " is shorter than its index says", Exit::refused);
}

class FolderPack : public PackOutput {
 public:
  explicit FolderPack(const fs::path& folder) : file_(folder) {}
  void write(std::string_view bytes) override { file_.write(bytes); }
  std::uint64_t bytes_written() const override { return file_.bytes_written(); }
  void commit(const std::string& name) override {
    file_.finish();
    file_.commit(name + ".pack");  // false: the same frames are there already
  }

 private:
  util::AtomicFile file_;
};

class FolderFiles : public RepoFiles {
 public:
  explicit FolderFiles(const Location& root) : root_(root), dir_(root.path()) {}
  const Location& root() const override { return root_; }

  std::optional<std::string> read(const std::string& name) override {
    std::ifstream in(dir_ / name, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string read_range(const std::string& name, std::uint64_t offset, std::size_t length) override {
    auto& fd = open_files_[name];
    if (!fd.valid()) {
      fd = util::Fd(::open((dir_ / name).c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) throw Error("cannot open " + show(name) + ": " + std::strerror(errno), Exit::refused);
    }
    std::string out(length, '\0');
    auto got = util::pread_full(fd.get(), out.data(), length, offset);
    if (!got) throw Error("cannot read " + show(name) + ": " + std::strerror(errno));
    if (*got < length) cut_short(show(name));
    return out;
  }

  std::optional<std::uint64_t> size(const std::string& name) override {
    std::error_code error;
    auto bytes = fs::file_size(dir_ / name, error);
    if (error) return std::nullopt;
    return bytes;
  }

  bool write_new(const std::string& name, std::string_view bytes) override {
    auto path = dir_ / name;
    return util::write_new_file(path.parent_path(), path.filename().string(), bytes);
  }

  void remove(const std::string& name) override { fs::remove(dir_ / name); }

  std::vector<Entry> list(const std::string& folder) override {
    std::vector<Entry> out;
    std::error_code error;
    for (const auto& item : fs::directory_iterator(dir_ / folder, error)) {
      std::string name = item.path().filename().string();
      struct stat info;
      if (name.empty() || name[0] == '.' || ::stat(item.path().c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        continue;  // temporaries are hidden; a file gone since the listing is no more
      out.push_back({in_folder(folder, name), static_cast<std::uint64_t>(info.st_size), info.st_mtime});
    }
    // A folder that is not there holds nothing; another error is one.
    if (error && error != std::errc::no_such_file_or_directory)
      throw Error("cannot list " + show(folder) + ": " + error.message());
    std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
    return out;
  }

  std::vector<std::string> folders(const std::string& folder) override {
    std::vector<std::string> out;
    std::error_code error;
    for (const auto& item : fs::directory_iterator(dir_ / folder, error)) {
      std::string name = item.path().filename().string();
      if (!name.empty() && name[0] != '.' && item.is_directory()) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void sync(const std::string& folder) override { util::fsync_dir(dir_ / folder); }

  void prepare(const std::vector<std::string>& folders) override {
    for (const auto& folder : folders) {
      util::create_private_dirs(dir_ / folder);
      util::remove_stale_temporaries(dir_ / folder);
    }
  }

  std::unique_ptr<PackOutput> new_pack() override { return std::make_unique<FolderPack>(dir_ / "packs"); }
  std::unique_ptr<RepoLockHold> lock(RepoLock::Mode mode) override { return lock_folder(dir_, mode); }

 private:
  Location root_;
  fs::path dir_;
  std::map<std::string, util::Fd> open_files_;
};

// A pack is held in memory (kPackTarget, 32 MiB) and sent in one PUT: an
// upload that never completed leaves nothing behind.
class ObjectPack : public PackOutput {
 public:
  // Room for a full pack and its last frame from the start: grown by
  // doubling, a pack just over 32 MiB held 64 MiB (a first snapshot into a
  // bucket, two packs at a time, peaked at 131 MiB).
  ObjectPack(S3Client& client, std::string folder) : client_(client), folder_(std::move(folder)) {
    bytes_.reserve(kPackTarget + (4u << 20));
  }
  void write(std::string_view bytes) override { bytes_.append(bytes); }
  std::uint64_t bytes_written() const override { return bytes_.size(); }
  void commit(const std::string& name) override {
    client_.put_new(folder_ + name + ".pack", bytes_);  // false: the same frames are there already
    std::string().swap(bytes_);
  }

 private:
  S3Client& client_;
  std::string folder_;
  std::string bytes_;
};

class BucketFiles : public RepoFiles {
 public:
  explicit BucketFiles(const Location& root)
      : root_(root), url_(parse_s3_url(root.text())), prefix_(url_.key.empty() ? "" : url_.key + "/") {}
  const Location& root() const override { return root_; }

  std::optional<std::string> read(const std::string& name) override { return client().get(prefix_ + name); }

  std::string read_range(const std::string& name, std::uint64_t offset, std::size_t length) override {
    auto object_size = sizes_.find(name);
    if (object_size == sizes_.end()) object_size = sizes_.emplace(name, size(name).value_or(0)).first;
    if (offset + length > object_size->second) cut_short(show(name));
    return client().get_range(prefix_ + name, offset, length, "");
  }

  std::optional<std::uint64_t> size(const std::string& name) override { return client().head(prefix_ + name); }

  bool write_new(const std::string& name, std::string_view bytes) override {
    return client().put_new(prefix_ + name, bytes);
  }

  void remove(const std::string& name) override { client().remove(prefix_ + name); }

  std::vector<Entry> list(const std::string& folder) override {
    std::vector<Entry> out;
    const std::string where = prefix_ + in_folder(folder, "");
    for (const auto& object : client().list(where)) {
      std::string name = object.key.substr(where.size());
      if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos) continue;
      out.push_back({in_folder(folder, name), object.size, object.last_modified});
    }
    std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
    return out;
  }

  std::vector<std::string> folders(const std::string& folder) override {
    auto out = client().list_folders(prefix_ + in_folder(folder, ""));
    std::erase_if(out, [](const std::string& name) { return name.empty() || name[0] == '.'; });
    std::sort(out.begin(), out.end());
    return out;
  }

  void sync(const std::string&) override {}                             // an answered PUT or DELETE is durable
  void prepare(const std::vector<std::string>&) override { client(); }  // packs are single PUTs: no leftovers
  std::unique_ptr<PackOutput> new_pack() override { return std::make_unique<ObjectPack>(client(), prefix_ + "packs/"); }
  std::unique_ptr<RepoLockHold> lock(RepoLock::Mode mode) override;

 private:
  // Made (and the bucket checked) when first needed.
  S3Client& client() {
    if (!client_) {
      client_.emplace(S3Config::from_environment(), url_.bucket);
      client_->check_bucket();
    }
    return *client_;
  }

  Location root_;
  S3Url url_;
  std::string prefix_;
  std::optional<S3Client> client_;
  std::map<std::string, std::uint64_t> sizes_;  // of the packs read: they never change under a name
};

class BucketLock : public RepoLockHold {
 public:
  BucketLock(const S3Url& url, const std::string& prefix, RepoLock::Mode mode)
      : lock_(S3Config::from_environment(), url.bucket, prefix, mode, url.text()) {}
  void check_held() const override { lock_.check_held(); }

 private:
  S3RepoLock lock_;
};

std::unique_ptr<RepoLockHold> BucketFiles::lock(RepoLock::Mode mode) {
  client();  // the bucket checked first: a missing one is named as such, not as a lock failure
  return std::make_unique<BucketLock>(url_, prefix_, mode);
}
}  // namespace

std::string RepoFiles::content_id(std::string_view bytes) { return util::sha256_hex(bytes); }

std::unique_ptr<RepoFiles> open_stored_repo_files(const Location& root) {
  if (root.is_local()) return std::make_unique<FolderFiles>(root);
  if (root.scheme() == "s3") return std::make_unique<BucketFiles>(root);
  throw Error(root.text() + " cannot hold a repository: give a folder or s3://BUCKET/PREFIX", Exit::usage);
}

}  // namespace dockform::store
