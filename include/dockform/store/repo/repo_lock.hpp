#pragma once
// The repository lock (docs/storage.md, "The repository lock"): snapshots into
// a repository and reads of its snapshots share it; a prune holds it alone,
// from before its retention to the end of its collection of unused frames.
// So a collection never removes a frame that a running snapshot found
// already stored and relies on, nor a pack a reader is about to read, and a
// prune that cannot have it removes nothing.
//
// In a folder it is flock(2) on DIR/lock: the kernel releases it when its
// holder ends, however it ends (also SIGKILL), so a killed run never leaves it
// taken and there is nothing to take over. In a bucket, where flock does not
// reach, it is a lock object with a heartbeat (s3_repo_lock.hpp). A wait has a
// deadline: DOCKFORM_REPO_LOCK_WAIT (a duration: 30s, 10m, 1h; default 1h),
// then exit 3, as a volume in use.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace dockform::store {

class RepoFiles;

// What holds the repository lock; releasing it is its destructor's job.
class RepoLockHold {
 public:
  virtual ~RepoLockHold() = default;
  // Throws Error (refused) when the lock may have been lost (a bucket's lock
  // whose heartbeat stopped); flock cannot be lost.
  virtual void check_held() const {}
};

class RepoLock {
 public:
  enum class Mode { shared, exclusive };
  // Waits until the lock is held in `mode`, saying once on standard error what
  // it waits for. Throws Error when the deadline passes (exit 3), on SIGINT or
  // SIGTERM, or when the lock cannot be made (a read-only folder is read
  // without the lock: nothing can collect in it).
  RepoLock(RepoFiles& files, Mode mode);
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;
  void check_held() const;

 private:
  std::unique_ptr<RepoLockHold> hold_;
};

// DOCKFORM_REPO_LOCK_WAIT, checked: throws Error (usage) for a bad value.
std::chrono::seconds repo_lock_wait();

// What the holder of the other mode is doing, for waiting messages and errors.
std::string repo_lock_holder(RepoLock::Mode wanted);

// flock(2) on `root`/lock (nullptr for a read-only folder and `mode` shared).
std::unique_ptr<RepoLockHold> lock_folder(const std::filesystem::path& root, RepoLock::Mode mode);

}  // namespace dockform::store
