#include "dockform/store/catalog.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "dockform/store/naming.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

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

bool add_listed_file(std::map<std::string, CatalogEntry>& by_stem, const std::string& volume, const Location& file) {
  std::string name = file.filename();
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

std::vector<CatalogEntry> list_unread(Store& store, const std::string& volume) {
  std::map<std::string, CatalogEntry> by_stem;
  std::map<std::string, StoredFile> listed;
  for (auto& file : store.files(volume)) {
    if (add_listed_file(by_stem, volume, file.location)) listed.emplace(file.location.text(), std::move(file));
  }
  std::vector<CatalogEntry> entries;
  for (auto& [stem, entry] : by_stem) {
    const auto& main = listed.at((entry.data_file ? *entry.data_file : *entry.sidecar_file).text());
    if (entry.data_file) entry.compressed_bytes = main.size;
    entry.modified = main.modified;
    settle_entry(entry, entry.modified);
    entries.push_back(std::move(entry));
  }
  sort_newest_first(entries);
  return entries;
}

bool read_sidecar(Store& store, CatalogEntry& entry) {
  if (!entry.sidecar_file) return false;
  try {
    entry.sidecar = store.read_sidecar(*entry.sidecar_file);
  } catch (const StorageError&) {
    throw;  // not a verdict on the sidecar
  } catch (const Error& e) {
    entry.problem = std::string("sidecar unreadable: ") + e.what();
  }
  settle_entry(entry, entry.modified);
  return entry.sidecar.has_value();
}

std::vector<CatalogEntry> list_volume(Store& store, const std::string& volume) {
  auto entries = list_unread(store, volume);
  const bool sealed = store.sealed();
  for (auto& entry : entries) {
    read_sidecar(store, entry);
    entry.sealed = sealed;
  }
  sort_newest_first(entries);
  return entries;
}

std::vector<CatalogEntry> list_all(Store& store) {
  std::vector<CatalogEntry> entries;
  for (const auto& volume : store.volumes()) {
    auto more = list_volume(store, volume);
    entries.insert(entries.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return entries;
}

}  // namespace dockform::store
