#include <filesystem>

#include "dockform/store/local/local_store.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

namespace {
// A snapshot folder on a local (or mounted) file system.
class LocalSink : public SnapshotSink {
 public:
  LocalSink(const std::filesystem::path& folder, std::time_t start, std::string spec_hash, std::string extension)
      : folder_(prepare(folder)),
        file_(folder_),
        start_(start),
        spec_hash_(std::move(spec_hash)),
        extension_(std::move(extension)) {}

  void write(const void* data, std::size_t size) override { file_.write(data, size); }
  std::uint64_t bytes_written() const override { return file_.bytes_written(); }

  // Links the finished file under the first free name, starting at the second
  // the snapshot started: two snapshots started in the same second get
  // consecutive seconds. A name whose sidecar exists is taken as well.
  std::time_t commit(const std::string& /*sha256*/) override {
    file_.finish();
    for (std::time_t t = start_; t < start_ + 3600; ++t) {
      std::string stem = snapshot_stem(t, spec_hash_);
      if (std::filesystem::exists(folder_ / (stem + ".json"))) continue;
      if (file_.commit(stem + extension_)) return t;
    }
    throw Error("no free snapshot name in " + folder_.string() + " for an hour after " + iso_timestamp(start_));
  }

  void write_sidecar(const std::string& stem, std::string_view text) override {
    if (!util::write_new_file(folder_, stem + ".json", text)) {
      throw Error("sidecar " + location(stem + ".json") + " appeared while writing it");
    }
  }

  void remove_data(const std::string& stem) override { std::filesystem::remove(folder_ / (stem + extension_)); }
  std::string location(const std::string& filename) const override { return (folder_ / filename).string(); }
  const std::string& extension() const override { return extension_; }

 private:
  static std::filesystem::path prepare(const std::filesystem::path& folder) {
    util::create_private_dirs(folder);
    util::remove_stale_temporaries(folder);
    return folder;
  }

  std::filesystem::path folder_;
  util::AtomicFile file_;
  std::time_t start_;
  std::string spec_hash_;
  std::string extension_;
};

}  // namespace

std::unique_ptr<SnapshotSink> open_local_sink(const std::filesystem::path& folder, std::time_t start,
                                              const std::string& spec_hash, const std::string& extension) {
  return std::make_unique<LocalSink>(folder, start, spec_hash, extension);
}

}  // namespace dockform::store
