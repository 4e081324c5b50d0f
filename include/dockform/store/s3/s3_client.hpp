#pragma once
// A small S3 client over libcurl: requests signed with SigV4 by libcurl
// (CURLOPT_AWS_SIGV4), configured the way the AWS tools are (environment,
// ~/.aws/credentials, ~/.aws/config). Only what snapshots need: objects,
// listings and multipart uploads.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/store/store.hpp"
#include "dockform/util/curl.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

struct S3Config {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string region = "us-east-1";
  std::string endpoint;   // scheme://host[:port]; empty: AWS (virtual-hosted addressing)
  std::string ca_bundle;  // AWS_CA_BUNDLE; empty: the system CA store
  int max_attempts = 5;   // DOCKFORM_S3_MAX_ATTEMPTS: tries per request for throttling and network errors

  // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION /
  // AWS_DEFAULT_REGION, AWS_PROFILE (~/.aws/credentials, ~/.aws/config, or
  // AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE), AWS_ENDPOINT_URL_S3 /
  // AWS_ENDPOINT_URL (or endpoint_url in the profile).
  static S3Config from_environment();
};

// s3://BUCKET[/KEY]
struct S3Url {
  std::string bucket;
  std::string key;  // no leading or trailing slash
  std::string text() const { return "s3://" + bucket + (key.empty() ? "" : "/" + key); }
};
bool is_s3_url(std::string_view text);
// Throws Error (usage) on a malformed URL.
S3Url parse_s3_url(std::string_view text);

struct S3Object {
  std::string key;
  std::uint64_t size = 0;
  std::time_t last_modified = 0;
};

struct S3Upload {
  std::string key;
  std::string upload_id;
  std::time_t initiated = 0;
};

// The object storage refused or did not answer (exit code `storage`).
class S3Error : public StorageError {
 public:
  S3Error(const std::string& message, long status, std::string code)
      : StorageError(message), status_(status), code_(std::move(code)) {}
  long status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  long status_;
  std::string code_;
};

class S3Client {
 public:
  S3Client(S3Config config, std::string bucket);
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const std::string& bucket() const { return bucket_; }
  const S3Config& config() const { return config_; }
  // "bucket B at ENDPOINT", for messages.
  std::string where() const;

  // Size of the object, nullopt when there is none.
  std::optional<std::uint64_t> head(const std::string& key);
  // The whole object; nullopt when there is none.
  std::optional<std::string> get(const std::string& key);
  // Bytes [offset, offset + length) of the object; `etag` (if not empty)
  // must still match, so a replaced object is noticed.
  std::string get_range(const std::string& key, std::uint64_t offset, std::uint64_t length, const std::string& etag);
  // The same into `out`, whose memory is reused from one call to the next
  // (a stream of ranged GETs then holds one buffer, not one per GET).
  void get_range_into(const std::string& key, std::uint64_t offset, std::uint64_t length, const std::string& etag,
                      std::string& out);
  std::string etag(const std::string& key);
  // Creates the object only if no object has the key (HEAD, then
  // If-None-Match: *). False when one exists.
  bool put_new(const std::string& key, std::string_view body);
  // Writes the object whether or not one has the key (replacing it): for an
  // object only this run writes, such as its repository lock's heartbeat.
  void put(const std::string& key, std::string_view body);
  void remove(const std::string& key);
  // The same, never cut short by SIGINT or SIGTERM (it is the cleanup after
  // one, as a repository lock object's release) and given up after `limit`,
  // its retries included (S3Error).
  void remove_within(const std::string& key, std::chrono::milliseconds limit);
  // Every object under the prefix (all pages).
  std::vector<S3Object> list(const std::string& prefix);
  // The "folders" one level under the prefix (which ends with '/').
  std::vector<std::string> list_folders(const std::string& prefix);

  std::string create_multipart(const std::string& key);
  std::string upload_part(const std::string& key, const std::string& upload_id, int part, std::string_view data);
  // Completes the upload of `size` bytes in parts whose ETags are `etags`.
  // When the request fails (as a repeat after a lost answer does: 404
  // NoSuchUpload, or 412 as the object exists), the object the store shows
  // under `key` counts as this upload, completed, when its size and ETag are
  // the ones these parts make.
  void complete_multipart(const std::string& key, const std::string& upload_id, const std::vector<std::string>& etags,
                          std::uint64_t size);
  // Never throws Interrupted: it is the cleanup after one.
  void abort_multipart(const std::string& key, const std::string& upload_id);
  std::vector<S3Upload> list_multipart(const std::string& prefix);

  // Checks that the bucket exists and the credentials are accepted.
  void check_bucket();

  struct Response;
  struct Request;

 private:
  Response perform(const Request& request);
  Response send(const Request& request);
  // Whether the object under `key` has this size and ETag (a HEAD).
  bool shows_completed(const std::string& key, std::uint64_t size, const std::string& etag);
  [[noreturn]] void fail(const Request& request, const Response& response);
  // Throws (fail) unless the request was answered with one of `accepted`.
  void expect(const Request& request, const Response& response, std::initializer_list<long> accepted = {200});
  std::string url_for(const std::string& key, const std::string& query) const;

  S3Config config_;
  std::string bucket_;
  util::CurlEasy curl_;
};

// The ETag S3 gives an object completed from parts with these ETags: the
// md5 of the parts' binary md5s, "-" and the number of parts, in quotes.
// Empty when a part's ETag is no md5 (SSE-C or SSE-KMS encrypted parts).
std::string multipart_etag(const std::vector<std::string>& part_etags);

// The text of an XML element: the five named entities and character
// references (&#N; and &#xN;, as UTF-8) decoded; anything else kept as it is.
std::string xml_decode(std::string_view text);

}  // namespace dockform::store
