#include "dockform/store/catalog.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "dockform/store/naming.hpp"
#include "dockform/store/s3_catalog.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

using archive::read_sidecar;

namespace {
std::time_t mtime_of(const std::filesystem::path& file) {
  struct stat info;
  return ::stat(file.c_str(), &info) == 0 ? info.st_mtime : 0;
}

void describe(CatalogEntry& entry) {
  if (entry.sidecar_file) {
    try {
      entry.sidecar = read_sidecar(*entry.sidecar_file);
    } catch (const Error& e) {
      entry.problem = std::string("sidecar unreadable: ") + e.what();
    }
  }
  if (entry.data_file) entry.compressed_bytes = std::filesystem::file_size(*entry.data_file);
  settle_entry(entry, mtime_of(entry.data_file ? *entry.data_file : *entry.sidecar_file));
}
}  // namespace

void settle_entry(CatalogEntry& entry, std::time_t modified) {
  if (!entry.data_file) {
    entry.problem = "sidecar without data file";
  } else if (!entry.sidecar_file) {
    entry.problem = "data file without sidecar";
  }
  // The stem starts with the timestamp; the sidecar's created_at wins when readable.
  std::optional<std::time_t> created;
  if (entry.sidecar) created = parse_iso_timestamp(entry.sidecar->created_at);
  if (!created) created = parse_file_timestamp(entry.stem.substr(0, entry.stem.find("__")));
  if (!created) created = modified;
  entry.created = *created;
}

bool add_listed_file(std::map<std::string, CatalogEntry>& by_stem, const std::string& volume,
                     const std::filesystem::path& file) {
  std::string name = file.filename().string();
  std::string stem;
  bool data = false;
  for (const char* ext : {".tar.zst.age", ".tar.zst", ".tar", ".tar.json", ".json"}) {
    if (name.ends_with(ext)) {
      stem = name.substr(0, name.size() - std::string(ext).size());
      data = !std::string_view(ext).ends_with(".json");
      break;
    }
  }
  if (stem.empty()) return false;
  auto& entry = by_stem[stem];
  entry.volume = volume;
  entry.stem = stem;
  if (data) {
    entry.data_file = file;
  } else if (!entry.sidecar_file || !name.ends_with(".tar.json")) {
    entry.sidecar_file = file;  // X.json is preferred over X.tar.json
  }
  return true;
}

void sort_newest_first(std::vector<CatalogEntry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const CatalogEntry& a, const CatalogEntry& b) {
    return a.created != b.created ? a.created > b.created : a.stem > b.stem;
  });
}

std::vector<CatalogEntry> list_volume(const std::filesystem::path& base, const std::string& volume) {
  if (is_s3_url(base.string())) return list_volume_s3(parse_s3_url(base.string()), volume);
  std::map<std::string, CatalogEntry> by_stem;
  auto folder = volume_folder(base, volume);
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) return {};
  for (const auto& item : std::filesystem::directory_iterator(folder)) {
    std::string name = item.path().filename().string();
    if (name.empty() || name[0] == '.' || !item.is_regular_file()) continue;  // temporaries are hidden
    add_listed_file(by_stem, volume, item.path());
  }
  std::vector<CatalogEntry> entries;
  for (auto& [stem, entry] : by_stem) {
    describe(entry);
    entries.push_back(std::move(entry));
  }
  sort_newest_first(entries);
  return entries;
}

std::vector<CatalogEntry> list_all(const std::filesystem::path& base) {
  if (is_s3_url(base.string())) return list_all_s3(parse_s3_url(base.string()));
  std::vector<std::string> volumes;
  std::error_code error;
  if (!std::filesystem::is_directory(base, error)) return {};
  for (const auto& item : std::filesystem::directory_iterator(base)) {
    if (item.is_directory() && item.path().filename().string()[0] != '.') {
      volumes.push_back(item.path().filename().string());
    }
  }
  std::sort(volumes.begin(), volumes.end());
  std::vector<CatalogEntry> entries;
  for (const auto& volume : volumes) {
    auto more = list_volume(base, volume);
    entries.insert(entries.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return entries;
}

}  // namespace dockform::store
