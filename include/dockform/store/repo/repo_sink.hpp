#pragma once
// A new snapshot into the repository in `root` (repository.hpp).
#include <ctime>
#include <memory>
#include <string>

#include "dockform/store/location.hpp"
#include "dockform/store/snapshot_sink.hpp"

namespace dockform::store {

// Throws Error (usage) for an encrypted snapshot (not yet supported in a repository).
std::unique_ptr<SnapshotSink> open_repo_sink(const Location& root, const std::string& volume, std::time_t start,
                                             const std::string& spec_hash, const std::string& extension);

}  // namespace dockform::store
