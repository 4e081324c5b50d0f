#pragma once
// Snapshots in a folder on a local (or mounted) file system.
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "dockform/archive/snapshot_file.hpp"
#include "dockform/store/store.hpp"

namespace dockform::store {

std::unique_ptr<Store> open_local_store(const Location& base);
// A snapshot file; the path checks first, so that the message names a
// missing file or a wrong extension.
std::unique_ptr<archive::ByteSource> open_local_snapshot(const Location& file);
// A snapshot folder's sink: a hidden temporary linked to its final name.
std::unique_ptr<SnapshotSink> open_local_sink(const std::filesystem::path& folder, std::time_t start,
                                              const std::string& spec_hash, const std::string& extension);

}  // namespace dockform::store
