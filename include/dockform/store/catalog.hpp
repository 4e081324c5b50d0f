#pragma once
// The snapshots on disk: <base>/<volume>/<stem>.tar.zst|.tar.zst.age|.tar + <stem>.json.
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/sidecar.hpp"

namespace dockform::store {

struct CatalogEntry {
  std::string volume;
  std::string stem;
  std::optional<std::filesystem::path> data_file;
  std::optional<std::filesystem::path> sidecar_file;
  std::optional<archive::Sidecar> sidecar;
  std::time_t created = 0;  // sidecar created_at, else the name, else the file's mtime
  std::uint64_t compressed_bytes = 0;
  std::string problem;  // empty when data and a readable sidecar are both there

  bool is_snapshot() const { return data_file.has_value(); }
  // An age-encrypted data file (.tar.zst.age).
  bool encrypted() const { return data_file && data_file->string().ends_with(".age"); }
};

// `base` is a folder or s3://BUCKET[/PREFIX].
// Newest first. Temporary files of snapshots being written are never listed.
std::vector<CatalogEntry> list_volume(const std::filesystem::path& base, const std::string& volume);
// Every volume folder under base, each newest first, volumes by name.
std::vector<CatalogEntry> list_all(const std::filesystem::path& base);

// Shared by the folder and the bucket listings.
// Files a data file or sidecar under its stem; false for other names.
bool add_listed_file(std::map<std::string, CatalogEntry>& by_stem, const std::string& volume,
                     const std::filesystem::path& file);
// Sets the problem and the creation time (sidecar, else name, else `modified`).
void settle_entry(CatalogEntry& entry, std::time_t modified);
void sort_newest_first(std::vector<CatalogEntry>& entries);

}  // namespace dockform::store
