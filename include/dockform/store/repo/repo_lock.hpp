#pragma once
// The repository lock (docs/storage.md, "The repository lock"): snapshots into
// a repository and reads of its snapshots share it; the collection of unused
// frames (prune) holds it alone. So a collection never removes a frame that a
// running snapshot found already stored and relies on, nor a pack a reader
// is about to read.
//
// It is flock(2) on DIR/lock: the kernel releases it when its holder ends,
// however it ends (also SIGKILL), so a killed run never leaves it taken and
// there is nothing to take over. A wait has a deadline: DOCKFORM_REPO_LOCK_WAIT
// (a duration: 30s, 10m, 1h; default 1h), then exit 3, as a volume in use.
#include <chrono>
#include <filesystem>

#include "dockform/util/fd.hpp"

namespace dockform::store {

class RepoLock {
 public:
  enum class Mode { shared, exclusive };
  // Waits until the lock is held in `mode`, saying once on standard error what
  // it waits for. Throws Error when the deadline passes (exit 3), on SIGINT or
  // SIGTERM, or when DIR/lock cannot be made (a read-only repository is read
  // without the lock: nothing can collect in it).
  RepoLock(const std::filesystem::path& root, Mode mode);

 private:
  util::Fd fd_;  // closing it releases the lock
};

// DOCKFORM_REPO_LOCK_WAIT, checked: throws Error (usage) for a bad value.
std::chrono::seconds repo_lock_wait();

}  // namespace dockform::store
