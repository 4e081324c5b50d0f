#include "dockform/store/s3_catalog.hpp"

#include <map>

#include "dockform/archive/sidecar.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

namespace {
std::string folder_of(const S3Url& base, const std::string& volume) {
  return (base.key.empty() ? "" : base.key + "/") + volume + "/";
}

std::vector<CatalogEntry> list_folder(S3Client& client, const S3Url& base, const std::string& volume) {
  std::string folder = folder_of(base, volume);
  std::map<std::string, CatalogEntry> by_stem;
  std::map<std::string, const S3Object*> objects;
  auto listing = client.list(folder);
  for (const auto& object : listing) {
    std::string name = object.key.substr(folder.size());
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') continue;
    std::string url = "s3://" + client.bucket() + "/" + object.key;
    if (add_listed_file(by_stem, volume, url)) objects[url] = &object;
  }
  std::vector<CatalogEntry> entries;
  for (auto& [stem, entry] : by_stem) {
    if (entry.sidecar_file) {
      try {
        auto key = parse_s3_url(entry.sidecar_file->string()).key;
        auto text = client.get(key);
        if (!text) throw Error("sidecar " + entry.sidecar_file->string() + " vanished");
        entry.sidecar = archive::parse_sidecar(*text, entry.sidecar_file->string());
      } catch (const S3Error&) {
        throw;
      } catch (const Error& e) {
        entry.problem = std::string("sidecar unreadable: ") + e.what();
      }
    }
    const S3Object* main = objects[(entry.data_file ? *entry.data_file : *entry.sidecar_file).string()];
    if (entry.data_file) entry.compressed_bytes = main->size;
    settle_entry(entry, main->last_modified);
    entries.push_back(std::move(entry));
  }
  sort_newest_first(entries);
  return entries;
}
}  // namespace

std::vector<CatalogEntry> list_volume_s3(const S3Url& base, const std::string& volume) {
  S3Client client(S3Config::from_environment(), base.bucket);
  client.check_bucket();
  return list_folder(client, base, volume);
}

std::vector<CatalogEntry> list_all_s3(const S3Url& base) {
  S3Client client(S3Config::from_environment(), base.bucket);
  client.check_bucket();
  std::vector<CatalogEntry> entries;
  for (const auto& volume : client.list_folders(base.key.empty() ? "" : base.key + "/")) {
    if (volume.empty() || volume[0] == '.') continue;
    auto more = list_folder(client, base, volume);
    entries.insert(entries.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return entries;
}

void remove_snapshot_file(const std::filesystem::path& file) {
  if (!is_s3_url(file.string())) {
    std::filesystem::remove(file);
    return;
  }
  auto url = parse_s3_url(file.string());
  S3Client(S3Config::from_environment(), url.bucket).remove(url.key);
}

}  // namespace dockform::store
