#include "dockform/store/s3/s3_store.hpp"

#include <optional>

#include "dockform/archive/sidecar.hpp"
#include "dockform/store/s3/s3_client.hpp"
#include "dockform/store/s3/s3_sink.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

namespace {
class S3Store : public Store {
 public:
  explicit S3Store(const Location& base) : base_(parse_s3_url(base.text())) {}

  std::vector<std::string> volumes() override {
    std::vector<std::string> names;
    for (auto& volume : client().list_folders(base_.key.empty() ? "" : base_.key + "/")) {
      if (volume.empty() || volume[0] == '.') continue;
      names.push_back(std::move(volume));
    }
    return names;
  }

  std::vector<StoredFile> files(const std::string& volume) override {
    std::string folder = (base_.key.empty() ? "" : base_.key + "/") + volume + "/";
    std::vector<StoredFile> files;
    for (const auto& object : client().list(folder)) {
      std::string name = object.key.substr(folder.size());
      if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') continue;
      files.push_back({object_location(object.key), object.size, object.last_modified});
    }
    return files;
  }

  archive::Sidecar read_sidecar(const Location& file) override {
    auto text = client().get(parse_s3_url(file.text()).key);
    if (!text) throw Error("sidecar " + file.text() + " vanished");
    return archive::parse_sidecar(*text, file.text());
  }

  std::unique_ptr<SnapshotSink> open_sink(const std::string& volume, std::time_t start, const std::string& spec_hash,
                                          const std::string& extension) override {
    return open_s3_sink(base_, volume, start, spec_hash, extension);
  }

  void remove(const Location& file) override { client().remove(parse_s3_url(file.text()).key); }
  void sync(const std::string&) override {}  // a completed request is durable

 private:
  // One client for the store's requests, made (and the bucket checked) when first needed.
  S3Client& client() {
    if (!client_) {
      client_.emplace(S3Config::from_environment(), base_.bucket);
      client_->check_bucket();
    }
    return *client_;
  }

  Location object_location(const std::string& key) const {
    return Location::remote("s3", "s3://" + base_.bucket + "/" + key);
  }

  S3Url base_;
  std::optional<S3Client> client_;
};
}  // namespace

std::string normalize_s3_url(std::string_view text) { return parse_s3_url(text).text(); }

std::unique_ptr<Store> open_s3_store(const Location& base) { return std::make_unique<S3Store>(base); }

}  // namespace dockform::store
