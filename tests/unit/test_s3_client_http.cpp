// store::S3Client over the curl layer against a loopback server that gives
// canned answers: which statuses each call accepts (the one expect()), the
// response headers it reads, the retry of a transient answer. No real S3.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dockform/store/s3/s3_client.hpp"
#include "dockform/util/fd.hpp"

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

}  // namespace
}  // namespace dockform::store
