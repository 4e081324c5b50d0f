// store::S3Client over the curl layer against a loopback server that gives
// canned answers: which statuses each call accepts (the one expect()), the
// response headers it reads, the retry of a transient answer; and the
// protocol of store::S3RepoLock over it. No real S3.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dockform/store/repo/s3_repo_lock.hpp"
#include "dockform/store/s3/s3_client.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/process.hpp"
#include "test_support.hpp"

namespace dockform::store {
namespace {

std::string answer(int status, const std::string& headers = "", const std::string& body = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + headers + "\r\n" + body;
}

// Serves one canned answer per connection, in order; records each request's head.
class CannedServer {
 public:
  explicit CannedServer(std::vector<std::string> answers) : answers_(std::move(answers)) {
    listener_ = util::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (!listener_.valid() || ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_.get(), 4) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("cannot listen on the loopback");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedServer() { thread_.join(); }
  CannedServer(const CannedServer&) = delete;
  CannedServer& operator=(const CannedServer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (const auto& text : answers_) {
      pollfd pfd{listener_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 5000) <= 0) return;  // the client asked less than expected
      util::Fd connection(::accept(listener_.get(), nullptr, nullptr));
      if (!connection.valid()) return;
      std::string request = read_request(connection.get());
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request.substr(0, request.find("\r\n\r\n")));
      }
      for (std::size_t sent = 0; sent < text.size();) {
        ssize_t n = ::send(connection.get(), text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
    }
  }

  static std::string read_request(int fd) {
    std::string request;
    char buffer[4096];
    std::size_t body = 0;
    for (;;) {
      auto end = request.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto at = request.find("Content-Length: ");
        if (at != std::string::npos && at < end) body = std::strtoul(request.c_str() + at + 16, nullptr, 10);
        if (request.size() >= end + 4 + body) return request;
      }
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 5000) <= 0) return request;
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return request;
      request.append(buffer, static_cast<std::size_t>(n));
    }
  }

  std::vector<std::string> answers_;
  util::Fd listener_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

S3Client client_for(const CannedServer& server) {
  S3Config config;
  config.access_key = "AKIDEXAMPLE";
  config.secret_key = "secret";
  config.endpoint = server.endpoint();
  config.max_attempts = 2;
  return S3Client(config, "bucket");
}

TEST(S3ClientHttp, HeadReadsTheSizeAndTakesA404AsNoObject) {
  // A HEAD answer's Content-Length is the object's size; no body follows.
  CannedServer server({"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1234\r\n\r\n", answer(404)});
  auto client = client_for(server);
  EXPECT_EQ(client.head("app/data file"), 1234u);
  EXPECT_EQ(client.head("gone"), std::nullopt);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].starts_with("HEAD /bucket/app/data%20file HTTP/1.1")) << requests[0];
  EXPECT_NE(requests[0].find("x-amz-content-sha256: "), std::string::npos);
}

TEST(S3ClientHttp, TheEtagComesFromTheHeadersWhateverTheirCase) {
  CannedServer server({answer(200, "eTaG:\t\"abc\"\r\n")});
  auto client = client_for(server);
  EXPECT_EQ(client.etag("key"), "\"abc\"");
}

TEST(S3ClientHttp, RemoveAcceptsGoneObjectsAndRefusesTheRest) {
  CannedServer server({answer(204), answer(404), answer(200),
                       answer(403, "", "<Error><Code>AccessDenied</Code><Message>no</Message></Error>")});
  auto client = client_for(server);
  EXPECT_NO_THROW(client.remove("a"));
  EXPECT_NO_THROW(client.remove("b"));
  EXPECT_NO_THROW(client.remove("c"));
  try {
    client.remove("d");
    FAIL() << "a 403 was accepted";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.code(), "AccessDenied");
  }
}

// The release of a repository lock object is not cut short by SIGINT or
// SIGTERM, so it has a time limit of its own: a store that takes the
// connection and never answers is given up on then, retries included.
TEST(S3ClientHttp, RemoveWithinGivesUpAtItsLimit) {
  CannedServer server({});  // listens (the kernel takes the connection), never answers
  auto client = client_for(server);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(client.remove_within("locks/a.json", std::chrono::milliseconds(500)), S3Error);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(400));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(S3ClientHttp, PutOverwritesWithoutACheckAndRefusesA403) {
  CannedServer server({answer(200), answer(403, "", "<Error><Code>AccessDenied</Code></Error>")});
  auto client = client_for(server);
  EXPECT_NO_THROW(client.put("locks/a.json", "{}"));
  try {
    client.put("locks/b.json", "{}");
    FAIL() << "a 403 was accepted";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.status(), 403);
  }
  // No HEAD first and no If-None-Match: the object is replaced.
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].starts_with("PUT /bucket/locks/a.json HTTP/1.1")) << requests[0];
  EXPECT_EQ(requests[0].find("If-None-Match"), std::string::npos) << requests[0];
  EXPECT_NE(requests[0].find("Content-Length: 2"), std::string::npos) << requests[0];
}

TEST(S3ClientHttp, GetAcceptsOnly200) {
  CannedServer server({answer(200, "", "hello"), answer(206, "", "part")});
  auto client = client_for(server);
  EXPECT_EQ(client.get("a"), "hello");
  EXPECT_THROW(client.get("b"), S3Error);
}

TEST(S3ClientHttp, ATransientAnswerIsRetried) {
  CannedServer server(
      {answer(503, "", "<Error><Code>SlowDown</Code></Error>"), answer(200, "", "<ListBucketResult/>")});
  auto client = client_for(server);
  EXPECT_NO_THROW(client.check_bucket());
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(S3ClientHttp, CompleteRefusesAnErrorInA200) {
  CannedServer server({answer(200, "", "<Error><Code>InvalidPart</Code></Error>"), answer(404)});
  auto client = client_for(server);
  try {
    client.complete_multipart("key", "upload", {"\"e1\""}, 1);
    FAIL() << "an <Error> body was accepted";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.code(), "InvalidPart");
  }
}

TEST(S3ClientHttp, MultipartEtagIsTheMd5OfThePartMd5s) {
  // md5("a"), md5("b"); the result checked with Python's hashlib.
  EXPECT_EQ(multipart_etag({"\"0cc175b9c0f1b6a831c399e269772661\"", "\"92eb5ffee6ae2fec3ad71c777531578f\""}),
            "\"96e024ba2074fe77e8e965ba43a704be-2\"");
  EXPECT_EQ(multipart_etag({"\"not-an-md5\""}), "");
}

const std::vector<std::string> kParts = {"\"0cc175b9c0f1b6a831c399e269772661\"",
                                         "\"92eb5ffee6ae2fec3ad71c777531578f\""};
const std::string kNoSuchUpload = answer(404, "", "<Error><Code>NoSuchUpload</Code></Error>");

std::string head_answer(std::uint64_t size, const std::string& etag) {
  return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + std::to_string(size) + "\r\nETag: " + etag +
         "\r\n\r\n";
}

TEST(S3ClientHttp, ACompletionWhoseAnswerWasLostIsTheObjectWithItsSizeAndEtag) {
  // The first answer is lost (the connection closes), the retry finds no upload: the HEAD decides.
  CannedServer server({"", kNoSuchUpload, head_answer(1234, "\"96e024ba2074fe77e8e965ba43a704be-2\"")});
  auto client = client_for(server);
  EXPECT_NO_THROW(client.complete_multipart("key", "upload", kParts, 1234));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_TRUE(requests[2].starts_with("HEAD /bucket/key HTTP/1.1")) << requests[2];
}

TEST(S3ClientHttp, ACompletionWhoseAnswerWasLostFailsWhenTheObjectDiffers) {
  for (const auto& head : {head_answer(1235, "\"96e024ba2074fe77e8e965ba43a704be-2\""),
                           head_answer(1234, "\"96e024ba2074fe77e8e965ba43a704be-3\""), answer(404)}) {
    CannedServer server({"", answer(412, "", "<Error><Code>PreconditionFailed</Code></Error>"), head});
    auto client = client_for(server);
    try {
      client.complete_multipart("key", "upload", kParts, 1234);
      FAIL() << "an object that is not this upload was accepted: " << head;
    } catch (const S3Error& e) {
      EXPECT_EQ(e.code(), "PreconditionFailed");
    }
  }
}

TEST(S3ClientHttp, ACompletionRepeatedByLibcurlIsTheObjectWithItsSizeAndEtag) {
  // libcurl sends the request again by itself when a reused connection closes
  // without an answer: only the repeat's 404 arrives.
  CannedServer server({kNoSuchUpload, head_answer(1234, "\"96e024ba2074fe77e8e965ba43a704be-2\"")});
  auto client = client_for(server);
  EXPECT_NO_THROW(client.complete_multipart("key", "upload", kParts, 1234));
}

TEST(S3ClientHttp, ACompletionRefusedWithNoObjectFails) {
  CannedServer server({kNoSuchUpload, answer(404)});
  auto client = client_for(server);
  try {
    client.complete_multipart("key", "upload", kParts, 1234);
    FAIL() << "a completion refused with no object was accepted";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.code(), "NoSuchUpload");
  }
  EXPECT_EQ(server.requests().size(), 2u);
}

// store::S3RepoLock's protocol over the same server: its own object written
// (HEAD, PUT If-None-Match), the lock objects listed, each other one read.
S3Config lock_config_for(const CannedServer& server) {
  S3Config config;
  config.access_key = "AKIDEXAMPLE";
  config.secret_key = "secret";
  config.endpoint = server.endpoint();
  config.max_attempts = 1;
  return config;
}

std::string lock_listing(const std::string& key, const std::string& last_modified) {
  return answer(200, "",
                "<ListBucketResult><Contents><Key>" + key + "</Key><Size>10</Size><LastModified>" + last_modified +
                    "</LastModified></Contents><IsTruncated>false</IsTruncated></ListBucketResult>");
}

std::string lock_object(RepoLock::Mode mode, const std::string& owner) {
  return answer(200, "", encode_lock_record({mode, owner, "host-b", 4242, "2024-05-06T07:08:09Z", 120}));
}

std::string utc_now() {
  char text[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return text;
}

// "METHOD /bucket/KEY HTTP/1.1" -> KEY
std::string request_key(const std::string& request) {
  auto start = request.find("/bucket/") + 8;
  return request.substr(start, request.find(' ', start) - start);
}

TEST(S3RepoLockHttp, AFreeRepositoryIsHeldAndItsObjectRemovedAtTheEnd) {
  CannedServer server({answer(404), answer(200), answer(200, "", "<ListBucketResult/>"), answer(204)});
  { S3RepoLock lock(lock_config_for(server), "bucket", "repo/", RepoLock::Mode::exclusive, "s3://bucket/repo"); }
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  auto key = request_key(requests[0]);
  EXPECT_TRUE(key.starts_with("repo/locks/") && key.ends_with(".json")) << key;
  EXPECT_TRUE(requests[0].starts_with("HEAD /bucket/" + key)) << requests[0];
  EXPECT_TRUE(requests[1].starts_with("PUT /bucket/" + key)) << requests[1];
  EXPECT_NE(requests[1].find("If-None-Match: *"), std::string::npos) << requests[1];
  EXPECT_NE(requests[2].find("prefix=repo%2Flocks%2F"), std::string::npos) << requests[2];
  EXPECT_TRUE(requests[3].starts_with("DELETE /bucket/" + key)) << requests[3];
}

TEST(S3RepoLockHttp, ALockOfAnotherMachineUnrenewedForItsLeaseIsTakenOver) {
  CannedServer server({answer(404), answer(200), lock_listing("repo/locks/old.json", "2000-01-01T00:00:00.000Z"),
                       lock_object(RepoLock::Mode::exclusive, "otherboot:123:456:789"), answer(204), answer(204)});
  testing::internal::CaptureStderr();
  { S3RepoLock lock(lock_config_for(server), "bucket", "repo/", RepoLock::Mode::exclusive, "s3://bucket/repo"); }
  auto said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("took over the repository lock left by dockform pid 4242 on host host-b since "
                      "2024-05-06T07:08:09Z"),
            std::string::npos)
      << said;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_TRUE(requests[3].starts_with("GET /bucket/repo/locks/old.json")) << requests[3];
  EXPECT_TRUE(requests[4].starts_with("DELETE /bucket/repo/locks/old.json")) << requests[4];
  EXPECT_TRUE(requests[5].starts_with("DELETE /bucket/" + request_key(requests[0]))) << requests[5];
}

TEST(S3RepoLockHttp, ALiveConflictingLockIsWaitedForUntilTheDeadline) {
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_WAIT", "0s", 1), 0);
  CannedServer server({answer(404), answer(200), lock_listing("repo/locks/live.json", utc_now()),
                       lock_object(RepoLock::Mode::exclusive, util::my_owner_identity()), answer(204)});
  try {
    S3RepoLock lock(lock_config_for(server), "bucket", "repo/", RepoLock::Mode::shared, "s3://bucket/repo");
    FAIL() << "a live exclusive lock was not waited for";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::refused);
    EXPECT_NE(std::string(e.what()).find("the repository s3://bucket/repo is in use by a prune collecting unused "
                                         "frames (dockform pid 4242 on host host-b"),
              std::string::npos)
        << e.what();
  }
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_WAIT"), 0);
  // Its own object is removed before it waits: the holder is not kept waiting in turn.
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_TRUE(requests[4].starts_with("DELETE /bucket/" + request_key(requests[0]))) << requests[4];
}

TEST(S3RepoLockHttp, AnUnreadableObjectIsAnExclusiveLockUntilALeaseOld) {
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_WAIT", "0s", 1), 0);
  {
    CannedServer server({answer(404), answer(200), lock_listing("repo/locks/odd.json", utc_now()),
                         answer(200, "", "{\"format\":\"dockform-repository-lock\",\"version\":2}"), answer(204)});
    auto config = lock_config_for(server);
    test::expect_error([&] { S3RepoLock lock(config, "bucket", "repo/", RepoLock::Mode::shared, "s3://bucket/repo"); },
                       Exit::refused, "a lock object this version cannot read, s3://bucket/repo/locks/odd.json");
  }
  CannedServer server({answer(404), answer(200), lock_listing("repo/locks/odd.json", "2000-01-01T00:00:00.000Z"),
                       answer(200, "", "garbage"), answer(204), answer(204)});
  { S3RepoLock lock(lock_config_for(server), "bucket", "repo/", RepoLock::Mode::shared, "s3://bucket/repo"); }
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_WAIT"), 0);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_TRUE(requests[4].starts_with("DELETE /bucket/repo/locks/odd.json")) << requests[4];
}

TEST(S3RepoLockHttp, ASharedLockDoesNotKeepAnotherSharedOneWaiting) {
  CannedServer server({answer(404), answer(200), lock_listing("repo/locks/reader.json", utc_now()),
                       lock_object(RepoLock::Mode::shared, util::my_owner_identity()), answer(204)});
  S3RepoLock lock(lock_config_for(server), "bucket", "repo/", RepoLock::Mode::shared, "s3://bucket/repo");
  EXPECT_NO_THROW(lock.check_held());
}

// Heartbeats every lease/4: with the shortest lease (10 s), every 2.5 s.
TEST(S3RepoLockHttp, TheHeartbeatRewritesTheObjectInPlace) {
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_LEASE", "10s", 1), 0);
  CannedServer server({answer(404), answer(200), answer(200, "", "<ListBucketResult/>"), answer(200), answer(204)});
  {
    S3RepoLock lock(lock_config_for(server), "bucket", "repo/", RepoLock::Mode::exclusive, "s3://bucket/repo");
    std::this_thread::sleep_for(std::chrono::milliseconds(3200));
    EXPECT_NO_THROW(lock.check_held());
  }
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_LEASE"), 0);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  auto key = request_key(requests[0]);
  EXPECT_TRUE(requests[3].starts_with("PUT /bucket/" + key)) << requests[3];
  EXPECT_EQ(requests[3].find("If-None-Match"), std::string::npos) << requests[3];
  EXPECT_TRUE(requests[4].starts_with("DELETE /bucket/" + key)) << requests[4];
}

TEST(S3RepoLockHttp, ALockWhoseHeartbeatFailsIsLostAfterThreeQuartersOfTheLease) {
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_LEASE", "10s", 1), 0);
  const auto refused = answer(403, "", "<Error><Code>AccessDenied</Code></Error>");
  // The third heartbeat comes 3/4 of the lease after the last write began:
  // too late to count, so it is not even tried.
  CannedServer server(
      {answer(404), answer(200), answer(200, "", "<ListBucketResult/>"), refused, refused, answer(204)});
  {
    S3RepoLock lock(lock_config_for(server), "bucket", "repo/", RepoLock::Mode::exclusive, "s3://bucket/repo");
    std::this_thread::sleep_for(std::chrono::milliseconds(5500));
    EXPECT_NO_THROW(lock.check_held());  // two failed heartbeats are survived
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    test::expect_error([&] { lock.check_held(); }, Exit::refused, "lost the repository lock of s3://bucket/repo");
  }
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_LEASE"), 0);
  EXPECT_EQ(server.requests().size(), 6u);
}

}  // namespace
}  // namespace dockform::store
