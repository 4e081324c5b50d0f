// The rules of the repository lock in a bucket (store::S3RepoLock), apart from
// any store: the lock object's JSON, when an object is stale, which modes
// conflict, DOCKFORM_REPO_LOCK_LEASE. The protocol against a canned HTTP
// server is in test_s3_client_http.cpp, beside that server.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "dockform/store/repo/s3_repo_lock.hpp"
#include "dockform/util/process.hpp"
#include "test_support.hpp"

namespace dockform::store {
namespace s3_repo_lock_test {

using Mode = RepoLock::Mode;

S3LockRecord sample_record() {
  return {Mode::exclusive, "boot:123:456:789", "host-a", 123, "2024-05-06T07:08:09Z", 120};
}

TEST(S3LockRecord, EncodeDecodeRoundTrip) {
  for (auto mode : {Mode::shared, Mode::exclusive}) {
    auto record = sample_record();
    record.mode = mode;
    auto decoded = decode_lock_record(encode_lock_record(record));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->mode, mode);
    EXPECT_EQ(decoded->owner, record.owner);
    EXPECT_EQ(decoded->host, record.host);
    EXPECT_EQ(decoded->pid, record.pid);
    EXPECT_EQ(decoded->since, record.since);
    EXPECT_EQ(decoded->lease, record.lease);
  }
}

TEST(S3LockRecord, EncodesTheDocumentedFields) {
  auto json = nlohmann::json::parse(encode_lock_record(sample_record()));
  EXPECT_EQ(json, nlohmann::json::parse(R"({"format":"dockform-repository-lock","version":1,"mode":"exclusive",
      "owner":"boot:123:456:789","host":"host-a","pid":123,"since":"2024-05-06T07:08:09Z","lease":120})"));
}

TEST(S3LockRecord, MalformedTextsDecodeToNothing) {
  auto with = [](const std::string& field, nlohmann::json value) {
    auto json = nlohmann::json::parse(encode_lock_record(sample_record()));
    if (value.is_discarded()) {
      json.erase(field);
    } else {
      json[field] = value;
    }
    return json.dump();
  };
  const nlohmann::json missing = nlohmann::json(nlohmann::json::value_t::discarded);
  for (const std::string& text : {std::string(),
                                  std::string("not json"),
                                  std::string("[]"),
                                  std::string("{}"),
                                  std::string("{\"format\":"),
                                  with("format", "dockform-recipe"),
                                  with("version", 2),
                                  with("version", "1"),
                                  with("mode", "read"),
                                  with("mode", 1),
                                  with("owner", ""),
                                  with("owner", 5),
                                  with("host", nullptr),
                                  with("pid", "123"),
                                  with("pid", 1.5),
                                  with("since", 0),
                                  with("lease", 0),
                                  with("lease", -5),
                                  with("lease", 1.5),
                                  with("owner", missing),
                                  with("lease", missing),
                                  with("mode", missing)}) {
    EXPECT_FALSE(decode_lock_record(text)) << text;
  }
}

TEST(S3LockStale, ALockOfThisProcessIsNotStale) {
  auto record = sample_record();
  record.owner = util::my_owner_identity();
  const std::time_t now = 1'700'000'000;
  EXPECT_FALSE(lock_is_stale(record, now, now));
  EXPECT_FALSE(lock_is_stale(record, now - 120, now));
  // Its heartbeat stopped: stale all the same, as another machine sees it.
  EXPECT_TRUE(lock_is_stale(record, now - 121, now));
}

TEST(S3LockStale, AnEndedProcessOfThisBootIsStaleAtOnce) {
  auto me = *util::parse_owner(util::my_owner_identity());
  auto record = sample_record();
  record.owner = me.boot_id + ":999999999:" + me.start + ":" + me.pid_namespace;
  const std::time_t now = 1'700'000'000;
  EXPECT_TRUE(lock_is_stale(record, now, now));
}

TEST(S3LockStale, AnotherMachinesLockIsStaleOnlyAfterItsLease) {
  auto record = sample_record();
  record.owner = "otherboot:123:456:789";
  record.lease = 60;
  const std::time_t now = 1'700'000'000;
  EXPECT_FALSE(lock_is_stale(record, now, now));
  EXPECT_FALSE(lock_is_stale(record, now - 60, now));
  EXPECT_TRUE(lock_is_stale(record, now - 61, now));
}

TEST(S3LockConflict, OnlySharedWithSharedRunsTogether) {
  EXPECT_FALSE(locks_conflict(Mode::shared, Mode::shared));
  EXPECT_TRUE(locks_conflict(Mode::shared, Mode::exclusive));
  EXPECT_TRUE(locks_conflict(Mode::exclusive, Mode::shared));
  EXPECT_TRUE(locks_conflict(Mode::exclusive, Mode::exclusive));
}

TEST(S3LockLease, DefaultsTo120SecondsAndRefusesBadValues) {
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_LEASE"), 0);
  EXPECT_EQ(repo_lock_lease(), std::chrono::seconds(120));
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_LEASE", "", 1), 0);
  EXPECT_EQ(repo_lock_lease(), std::chrono::seconds(120));
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_LEASE", "5m", 1), 0);
  EXPECT_EQ(repo_lock_lease(), std::chrono::minutes(5));
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_LEASE", "10s", 1), 0);
  EXPECT_EQ(repo_lock_lease(), std::chrono::seconds(10));
  for (const char* bad : {"soon", "120", "9s", "0s", "2d", "-5s"}) {
    ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_LEASE", bad, 1), 0);
    test::expect_error([] { repo_lock_lease(); }, Exit::usage, std::string("DOCKFORM_REPO_LOCK_LEASE=") + bad);
  }
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_LEASE"), 0);
}

}  // namespace s3_repo_lock_test
}  // namespace dockform::store
