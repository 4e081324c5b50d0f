#include "dockform/store/local/local_store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "dockform/store/naming.hpp"
#include "dockform/util/atomic_file.hpp"

namespace dockform::store {

namespace {
class LocalStore : public Store {
 public:
  explicit LocalStore(const Location& base) : base_(base.path()) {}

  std::vector<std::string> volumes() override {
    std::vector<std::string> names;
    std::error_code error;
    if (!std::filesystem::is_directory(base_, error)) return {};
    for (const auto& item : std::filesystem::directory_iterator(base_)) {
      if (item.is_directory() && item.path().filename().string()[0] != '.') {
        names.push_back(item.path().filename().string());
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<StoredFile> files(const std::string& volume) override {
    auto folder = volume_folder(base_, volume);
    std::error_code error;
    if (!std::filesystem::is_directory(folder, error)) return {};
    std::vector<StoredFile> files;
    for (const auto& item : std::filesystem::directory_iterator(folder)) {
      std::string name = item.path().filename().string();
      if (name.empty() || name[0] == '.' || !item.is_regular_file()) continue;  // temporaries are hidden
      struct stat info;
      if (::stat(item.path().c_str(), &info) != 0) continue;  // gone since the listing
      files.push_back({Location::local(item.path()), static_cast<std::uint64_t>(info.st_size), info.st_mtime});
    }
    return files;
  }

  archive::Sidecar read_sidecar(const Location& file) override { return archive::read_sidecar(file.path()); }

  std::unique_ptr<SnapshotSink> open_sink(const std::string& volume, std::time_t start, const std::string& spec_hash,
                                          const std::string& extension) override {
    return open_local_sink(volume_folder(base_, volume), start, spec_hash, extension);
  }

  void remove(const Location& file) override { std::filesystem::remove(file.path()); }
  void sync(const std::string& volume) override { util::fsync_dir(volume_folder(base_, volume)); }

 private:
  std::filesystem::path base_;
};
}  // namespace

std::unique_ptr<Store> open_local_store(const Location& base) { return std::make_unique<LocalStore>(base); }

std::unique_ptr<archive::ByteSource> open_local_snapshot(const Location& file) {
  archive::detect_format(file.path());
  return archive::open_local_file(file.path());
}

}  // namespace dockform::store
