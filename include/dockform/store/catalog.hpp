#pragma once
// The snapshots of a store: <base>/<volume>/<stem>.tar.zst|.tar.zst.age|.tar + <stem>.json,
// each data file paired with its sidecar. Any backend: it works through Store.
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/sidecar.hpp"
#include "dockform/store/location.hpp"
#include "dockform/store/store.hpp"

namespace dockform::store {

struct CatalogEntry {
  std::string volume;
  std::string stem;
  std::optional<Location> data_file;
  std::optional<Location> sidecar_file;
  std::optional<archive::Sidecar> sidecar;
  std::time_t created = 0;   // sidecar created_at, else the name, else the file's mtime
  std::time_t modified = 0;  // the data file's mtime (the sidecar's without one), as listed
  std::uint64_t compressed_bytes = 0;
  std::string problem;  // empty when data and a readable sidecar are both there
  bool sealed = false;  // in an encrypted repository

  bool is_snapshot() const { return data_file.has_value(); }
  // An age-encrypted data file (.tar.zst.age), or a snapshot of an encrypted repository.
  bool encrypted() const { return data_file && (sealed || data_file->text().ends_with(".age")); }
};

// Newest first. Temporary files of snapshots being written are never listed.
std::vector<CatalogEntry> list_volume(Store& store, const std::string& volume);
// Every volume folder of the store, each newest first, volumes by name.
std::vector<CatalogEntry> list_all(Store& store);

// The volume's files paired, newest first by their names (the stem's time,
// else the file's), without reading a sidecar: a caller that wants one
// snapshot reads one sidecar (read_sidecar). For what dockform writes the
// order is list_volume's (created_at is the stem's time).
std::vector<CatalogEntry> list_unread(Store& store, const std::string& volume);
// Reads the entry's sidecar, if it has one: true when it could be read, else
// the problem says why. A failure of the storage itself is thrown.
bool read_sidecar(Store& store, CatalogEntry& entry);

// The steps of a listing, shared by every backend (and tested on their own).
// Files a data file or sidecar under its stem; false for other names.
bool add_listed_file(std::map<std::string, CatalogEntry>& by_stem, const std::string& volume, const Location& file);
// Sets the problem and the creation time (sidecar, else name, else `modified`).
void settle_entry(CatalogEntry& entry, std::time_t modified);
void sort_newest_first(std::vector<CatalogEntry>& entries);

}  // namespace dockform::store
