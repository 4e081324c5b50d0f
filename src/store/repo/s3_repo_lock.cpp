#include "dockform/store/repo/s3_repo_lock.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "dockform/store/naming.hpp"
#include "dockform/util/duration.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/process.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
constexpr const char* kLockRecordFormat = "dockform-repository-lock";
constexpr std::int64_t kLockLeaseMin = 10;     // S3 times have whole seconds: a lease of a few is all rounding
constexpr std::int64_t kLockLeaseMax = 86400;  // keeps lease/4 in milliseconds far from overflow
// How long the release of a lock object may take, its retries included: it
// also runs after a Ctrl-C, which it does not stop, so it must end anyway.
constexpr std::chrono::seconds kReleaseLimit{10};

const char* lock_mode_name(RepoLock::Mode mode) { return mode == RepoLock::Mode::shared ? "shared" : "exclusive"; }

std::string lock_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// What a holder in `held` mode is doing, in repo_lock.cpp's words.
std::string lock_holder_text(RepoLock::Mode held) {
  return held == RepoLock::Mode::exclusive ? "a prune collecting unused frames"
                                           : "snapshots into it or reads of its snapshots";
}

std::string lock_writer_text(const S3LockRecord& record) {
  return "dockform pid " + std::to_string(record.pid) + " on host " + record.host + " since " + record.since;
}
}  // namespace

std::string encode_lock_record(const S3LockRecord& record) {
  nlohmann::ordered_json out{
      {"format", kLockRecordFormat}, {"version", 1},         {"mode", lock_mode_name(record.mode)},
      {"owner", record.owner},       {"host", record.host},  {"pid", record.pid},
      {"since", record.since},       {"lease", record.lease}};
  return out.dump();
}

std::optional<S3LockRecord> decode_lock_record(const std::string& text) {
  try {
    auto in = nlohmann::json::parse(text);
    if (in.at("format") != kLockRecordFormat || in.at("version") != 1) return std::nullopt;
    S3LockRecord record;
    const auto mode = in.at("mode").get<std::string>();
    if (mode != "shared" && mode != "exclusive") return std::nullopt;
    record.mode = mode == "shared" ? RepoLock::Mode::shared : RepoLock::Mode::exclusive;
    record.owner = in.at("owner").get<std::string>();
    record.host = in.at("host").get<std::string>();
    record.since = in.at("since").get<std::string>();
    // get<long>() would take 1.5 for 1: integers only.
    if (!in.at("pid").is_number_integer() || !in.at("lease").is_number_integer()) return std::nullopt;
    record.pid = in.at("pid").get<long>();
    record.lease = in.at("lease").get<long>();
    if (record.owner.empty() || record.lease <= 0) return std::nullopt;
    return record;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not JSON, not an object, a field missing or of another type
  }
}

bool lock_is_stale(const S3LockRecord& record, std::time_t last_modified, std::time_t now) {
  return util::owner_is_gone(record.owner) || now - last_modified > record.lease;
}

bool locks_conflict(RepoLock::Mode wanted, RepoLock::Mode held) {
  return wanted == RepoLock::Mode::exclusive || held == RepoLock::Mode::exclusive;
}

std::chrono::seconds repo_lock_lease() {
  const char* set = std::getenv("DOCKFORM_REPO_LOCK_LEASE");
  if (set == nullptr || *set == '\0') return std::chrono::seconds(120);
  auto seconds = util::parse_duration(set);
  if (!seconds || *seconds < kLockLeaseMin || *seconds > kLockLeaseMax) {
    throw Error(std::string("DOCKFORM_REPO_LOCK_LEASE=") + set +
                    ": expected a duration from 10s to 1d (30s, 2m, 10m), how long a repository lock in a bucket "
                    "outlives the last renewal by its holder",
                Exit::usage);
  }
  return std::chrono::seconds(*seconds);
}

S3RepoLock::S3RepoLock(const S3Config& config, const std::string& bucket, const std::string& prefix,
                       RepoLock::Mode mode, const std::string& where)
    : bucket_(bucket),
      prefix_(prefix),
      where_(where),
      mode_(mode),
      lease_(repo_lock_lease()),
      client_(std::make_unique<S3Client>(config, bucket)),
      heartbeat_client_(std::make_unique<S3Client>(config, bucket)) {
  record_ = {mode, util::my_owner_identity(), lock_host_name(), static_cast<long>(::getpid()), "", lease_.count()};
  const auto deadline = Clock::now() + repo_lock_wait();
  bool said = false;
  while (auto holder = try_acquire()) back_off(*holder, deadline, said);
  thread_ = std::thread([this] { heartbeat(); });
}

S3RepoLock::~S3RepoLock() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  remove_own_object();
}

// One round: this run's object written, then the others read. Returns what
// holds the repository in a conflicting mode, if anything does; this run's
// object is then removed again, so that the holder is not kept waiting in turn.
std::optional<std::string> S3RepoLock::try_acquire() {
  try {
    write_own_object();
  } catch (const util::Interrupted&) {
    remove_own_object();  // the PUT cut short may have reached the store
    throw;
  }
  std::optional<std::string> holder;
  try {
    holder = find_conflict();
  } catch (...) {
    remove_own_object();
    throw;
  }
  if (holder) remove_own_object();
  return holder;
}

void S3RepoLock::write_own_object() {
  record_.since = iso_timestamp(std::time(nullptr));
  body_ = encode_lock_record(record_);
  // A random name that another run's already has: only a broken store says
  // so more than once in a row.
  for (int attempt = 1;; ++attempt) {
    key_ = prefix_ + "locks/" + util::random_id(16) + ".json";
    const auto started = Clock::now();
    if (client_->put_new(key_, body_)) {
      renewed_ = started.time_since_epoch().count();
      return;
    }
    if (attempt == 3)
      throw StorageError("cannot write a repository lock object in " + where_ + ": " + key_ + " exists");
  }
}

// Also the cleanup after a SIGINT or SIGTERM: the DELETE is not cut short by
// it (the object would stay until the others take it over), but it has a
// time limit of its own.
void S3RepoLock::remove_own_object() noexcept {
  try {
    client_->remove_within(key_, kReleaseLimit);
  } catch (const std::exception& e) {
    spdlog::warn("cannot remove the repository lock object s3://{}/{}: {}; other runs take it over once {} s pass",
                 bucket_, key_, e.what(), lease_.count());
  } catch (...) {
    spdlog::warn("the repository lock object s3://{}/{} was left; other runs take it over once {} s pass", bucket_,
                 key_, lease_.count());
  }
}

std::optional<std::string> S3RepoLock::find_conflict() {
  const auto objects = client_->list(prefix_ + "locks/");
  // The store's clock rather than this machine's: the time it gave this run's
  // object just now. A skewed local clock then cannot make a live lock stale.
  std::time_t now = std::time(nullptr);
  for (const auto& object : objects) {
    if (object.key == key_ && object.last_modified != 0) now = object.last_modified;
  }
  for (const auto& object : objects) {
    if (object.key == key_) continue;
    if (auto holder = judge(object, now)) return holder;
  }
  return std::nullopt;
}

// What another run's object means for this one: nullopt when it does not
// keep this run waiting (released meanwhile, compatible, or taken over).
std::optional<std::string> S3RepoLock::judge(const S3Object& object, std::time_t now) {
  const auto text = client_->get(object.key);
  if (!text) return std::nullopt;  // released between the listing and now
  const auto record = decode_lock_record(*text);
  if (!record) return judge_unreadable(object, now);
  if (lock_is_stale(*record, object.last_modified, now)) {
    client_->remove(object.key);
    std::cerr << "took over the repository lock left by " << lock_writer_text(*record) << " (" << where_ << ")"
              << std::endl;
    return std::nullopt;
  }
  if (!locks_conflict(mode_, record->mode)) return std::nullopt;
  return lock_holder_text(record->mode) + " (" + lock_writer_text(*record) + ")";
}

// An object this version cannot read (a later version's format, or a stray
// object) is taken for an exclusive lock, which conflicts with either mode:
// guessing it harmless could let a collection run beside a snapshot. So that
// a stray object cannot block the repository for good, one that nobody
// rewrote for longer than this run's lease is removed, as a stale lock is.
std::optional<std::string> S3RepoLock::judge_unreadable(const S3Object& object, std::time_t now) {
  const std::string name = "s3://" + bucket_ + "/" + object.key;
  if (now - object.last_modified > lease_.count()) {
    client_->remove(object.key);
    std::cerr << "removed the repository lock object " << name
              << ", which this version cannot read and nobody rewrote for longer than the lease (" << lease_.count()
              << " s, DOCKFORM_REPO_LOCK_LEASE)" << std::endl;
    return std::nullopt;
  }
  return "a lock object this version cannot read, " + name + " (taken for a prune's)";
}

void S3RepoLock::back_off(const std::string& holder, Clock::time_point deadline, bool& said) {
  util::throw_if_interrupted();
  if (Clock::now() >= deadline) {
    throw Error("the repository " + where_ + " is in use by " + holder + "; gave up waiting (DOCKFORM_REPO_LOCK_WAIT)",
                Exit::refused);
  }
  if (!said) {
    std::cerr << "waiting for the repository " << where_ << ": in use by " << holder << std::endl;
    said = true;
  }
  // About a second, plus up to half a second at random: two runs that backed
  // off from each other's objects then come back at different times.
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto until = Clock::now() + std::chrono::milliseconds(1000 + random() % 500);
  while (Clock::now() < until) {
    util::throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void S3RepoLock::heartbeat() {
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(lease_) / 4;
  bool warned = false;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
    lock.unlock();
    renew(warned);
    lock.lock();
  }
}

// Never throws: it runs on the heartbeat thread. Another run may take the
// object over once the store's time of its last write is a lease old. A write
// counts only when it ended within 3/4 of the lease after the previous one
// started (the object was stored before it ended), so no takeover can have
// come in between; a later one is not counted and the lock stays lost. With
// a write every lease/4, two failed ones in a row are survived.
void S3RepoLock::renew(bool& warned) {
  const auto limit = lease_ * 3 / 4;
  if (unrenewed_for() > limit) return;  // lost: writing again could bring back an object taken over
  const auto started = Clock::now();
  try {
    heartbeat_client_->put(key_, body_);
    if (unrenewed_for() > limit) return;
    renewed_ = started.time_since_epoch().count();
    warned = false;
    return;
  } catch (const std::exception& e) {
    if (!warned) spdlog::warn("cannot renew the repository lock of {}: {}; trying again", where_, e.what());
  } catch (...) {
    if (!warned) spdlog::warn("cannot renew the repository lock of {}: interrupted", where_);
  }
  warned = true;
}

S3RepoLock::Clock::duration S3RepoLock::unrenewed_for() const {
  return Clock::now() - Clock::time_point(Clock::duration(renewed_.load()));
}

void S3RepoLock::check_held() const {
  const auto unrenewed = unrenewed_for();
  if (unrenewed <= lease_ * 3 / 4) return;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(unrenewed).count();
  throw Error("lost the repository lock of " + where_ + ": not renewed for " + std::to_string(seconds) +
                  " s of its lease of " + std::to_string(lease_.count()) +
                  " s (DOCKFORM_REPO_LOCK_LEASE); another run may take it over",
              Exit::refused);
}

}  // namespace dockform::store
