#pragma once
// The repository lock (docs/storage.md, "The repository lock") of a
// repository in a bucket, where flock(2) does not reach. Each holder writes an
// object of its own, PREFIX/locks/<random>.json, then lists PREFIX/locks/: S3
// and Ceph RGW list strongly consistently after a PUT, so of two runs that
// want conflicting modes at the same time at least one sees the other, and
// backs off (removes its object, waits, tries again).
//
// A killed holder cannot remove its object, so an object also says who wrote
// it and for how long it stays valid without renewal (its lease): a holder
// rewrites it every lease/4 from a thread of its own, and another run takes
// over (removes) an object whose writer provably ended on this machine, or
// that nobody rewrote for longer than its lease.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "dockform/store/repo/repo_lock.hpp"
#include "dockform/store/s3/s3_client.hpp"

namespace dockform::store {

// One lock object's content: JSON {"format":"dockform-repository-lock",
// "version":1,"mode":"shared"|"exclusive","owner":util::my_owner_identity(),
// "host":hostname,"pid":N,"since":"ISO-8601 UTC","lease":SECONDS}.
struct S3LockRecord {
  RepoLock::Mode mode = RepoLock::Mode::shared;
  std::string owner;
  std::string host;
  long pid = 0;
  std::string since;
  long lease = 0;
};
std::string encode_lock_record(const S3LockRecord& record);
// nullopt when `text` is not such a record (not JSON, another format or
// version, a field missing or of the wrong type, no positive lease).
std::optional<S3LockRecord> decode_lock_record(const std::string& text);

// Stale (its holder is gone; the object may be taken over): the owner is a
// process of this machine's boot that provably ended (util::owner_is_gone),
// or the object was last written more than `lease` seconds before `now`.
bool lock_is_stale(const S3LockRecord& record, std::time_t last_modified, std::time_t now);
// Whether a lock held in mode `held` keeps a run wanting `wanted` waiting:
// shared with shared do not; anything with exclusive does.
bool locks_conflict(RepoLock::Mode wanted, RepoLock::Mode held);
// DOCKFORM_REPO_LOCK_LEASE, checked: a duration of at least 10s (default
// 120s); throws Error (usage) for a bad value, as repo_lock_wait().
std::chrono::seconds repo_lock_lease();

class S3RepoLock {
 public:
  // Waits until the lock is held in `mode`, saying once on standard error what
  // it waits for; throws Error (exit 3) past DOCKFORM_REPO_LOCK_WAIT, on
  // SIGINT or SIGTERM, and S3Error when the bucket refuses. `prefix` is the
  // repository's key prefix ("" or ending with '/'); `where` names the
  // repository in messages ("s3://bucket/prefix").
  S3RepoLock(const S3Config& config, const std::string& bucket, const std::string& prefix, RepoLock::Mode mode,
             const std::string& where);
  // Stops the heartbeat and removes the object, also on a run interrupted by
  // SIGINT or SIGTERM (within 10 s; past that the object is left to the
  // others' takeover); never throws.
  ~S3RepoLock();
  S3RepoLock(const S3RepoLock&) = delete;
  S3RepoLock& operator=(const S3RepoLock&) = delete;

  // Throws Error (exit 3) when the object has not been renewed for 3/4 of the
  // lease: past the lease another run may take it over, and the last quarter
  // leaves the caller's next step time to finish before. The collection calls
  // it before it removes anything.
  void check_held() const;

 private:
  using Clock = std::chrono::steady_clock;

  std::optional<std::string> try_acquire();
  void write_own_object();
  void remove_own_object() noexcept;
  std::optional<std::string> find_conflict();
  std::optional<std::string> judge(const S3Object& object, std::time_t now);
  std::optional<std::string> judge_unreadable(const S3Object& object, std::time_t now);
  void back_off(const std::string& holder, Clock::time_point deadline, bool& said);
  void heartbeat();
  void renew(bool& warned);
  Clock::duration unrenewed_for() const;

  std::string bucket_;
  std::string prefix_;
  std::string where_;
  RepoLock::Mode mode_;
  std::chrono::seconds lease_;
  S3LockRecord record_;
  std::string key_;   // this run's object, prefix + "locks/" + random + ".json"
  std::string body_;  // its content, rewritten as it is by the heartbeat
  std::unique_ptr<S3Client> client_;
  std::unique_ptr<S3Client> heartbeat_client_;  // an S3Client is not thread-safe
  // Clock time at which the last successful write of the object started:
  // never later than the time the store gives the object.
  // It only moves on when a write ended within 3/4 of the lease after the
  // previous one started, so no other run can have taken the lock over in
  // between (see renew()).
  std::atomic<Clock::rep> renewed_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dockform::store
