#pragma once
// The snapshots on disk: <base>/<volume>/<stem>.tar.zst|.tar + <stem>.json.
#include <cstdint>
#include <ctime>
#include <filesystem>
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
  std::time_t created = 0;        // sidecar created_at, else the name, else the file's mtime
  std::uint64_t compressed_bytes = 0;
  std::string problem;            // empty when data and a readable sidecar are both there

  bool is_snapshot() const { return data_file.has_value(); }
};

// Newest first. Temporary files of snapshots being written are never listed.
std::vector<CatalogEntry> list_volume(const std::filesystem::path& base, const std::string& volume);
// Every volume folder under base, each newest first, volumes by name.
std::vector<CatalogEntry> list_all(const std::filesystem::path& base);

}  // namespace dockform::store
