#include "dockform/store/s3/s3_client.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "dockform/util/curl.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

struct S3Client::Request {
  Request(std::string m, std::string k, std::string q = "")
      : method(std::move(m)), key(std::move(k)), query(std::move(q)) {}
  std::string method;
  std::string key;
  std::string query;  // canonical: sorted, encoded
  std::vector<std::string> headers;
  std::string_view body;
  bool has_body = false;
  bool interruptible = true;
  // When set, the request and its retries end by then (CURLOPT_TIMEOUT_MS).
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Where a successful response's body goes (cleared first, its capacity
  // kept); nullptr: Response::body.
  std::string* into = nullptr;
};

struct S3Client::Response {
  long status = 0;
  CURLcode curl = CURLE_OK;
  std::string curl_error;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

namespace {
// A canonical query string: parameters sorted by name, values encoded.
std::string query(std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    out += (out.empty() ? "" : "&") + util::url_encode(name) + "=" + util::url_encode(value);
  }
  return out;
}

// A character reference's code point as UTF-8; false when it is not a valid one.
bool append_reference(std::string& out, std::string_view reference) {
  bool hex = reference.size() > 1 && (reference[0] == 'x' || reference[0] == 'X');
  if (hex) reference.remove_prefix(1);
  unsigned long code = 0;
  auto [end, error] = std::from_chars(reference.data(), reference.data() + reference.size(), code, hex ? 16 : 10);
  if (reference.empty() || error != std::errc() || end != reference.data() + reference.size() || code == 0 ||
      code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return false;
  }
  auto byte = [&](unsigned long value) { out += static_cast<char>(static_cast<unsigned char>(value)); };
  if (code < 0x80) {
    byte(code);
  } else if (code < 0x800) {
    byte(0xC0 | (code >> 6));
    byte(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    byte(0xE0 | (code >> 12));
    byte(0x80 | ((code >> 6) & 0x3F));
    byte(0x80 | (code & 0x3F));
  } else {
    byte(0xF0 | (code >> 18));
    byte(0x80 | ((code >> 12) & 0x3F));
    byte(0x80 | ((code >> 6) & 0x3F));
    byte(0x80 | (code & 0x3F));
  }
  return true;
}

// Appends what `entity` (the text between '&' and ';') stands for; false when
// it is neither a named entity nor a valid character reference.
bool append_entity(std::string& out, std::string_view entity) {
  static const std::pair<std::string_view, char> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto& [name, character] : kNamed) {
    if (entity == name) {
      out += character;
      return true;
    }
  }
  return entity.starts_with('#') && append_reference(out, entity.substr(1));
}
}  // namespace

std::string xml_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto end = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (end != std::string_view::npos && append_entity(out, text.substr(i + 1, end - i - 1))) {
      i = end;
      continue;
    }
    out += text[i];  // also a '&' that starts no entity: kept as it is
  }
  return out;
}

namespace {
// The raw inner text of every <tag>...</tag> (S3's XML has no attributes on
// the elements read here and no nesting of a tag in itself).
std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  for (std::size_t at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at)) {
    auto start = at + open.size();
    auto end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(start, end - start));
    at = end + close.size();
  }
  return out;
}

std::string xml_value(std::string_view xml, std::string_view tag) {
  auto all = xml_elements(xml, tag);
  return all.empty() ? "" : xml_decode(all.front());
}

std::time_t parse_time(const std::string& text) {
  std::tm tm{};
  if (text.size() < 19 || !strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return timegm(&tm);
}

bool transient(const S3Client::Response& r);
}  // namespace

namespace {
// Sleeps, waking early for SIGINT/SIGTERM when the request may be interrupted.
void pause(std::chrono::milliseconds delay, bool interruptible) {
  auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (interruptible) util::throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}
}  // namespace

bool is_s3_url(std::string_view text) { return text.starts_with("s3://"); }

S3Url parse_s3_url(std::string_view text) {
  if (!is_s3_url(text)) throw Error("not an s3:// URL: " + std::string(text), Exit::usage);
  std::string_view rest = text.substr(5);
  auto slash = rest.find('/');
  S3Url url;
  url.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) url.key = std::string(rest.substr(slash + 1));
  while (!url.key.empty() && url.key.back() == '/') url.key.pop_back();
  if (url.bucket.empty() || url.key.starts_with('/') || url.key.find("//") != std::string::npos) {
    throw Error("malformed S3 URL " + std::string(text) + " (expected s3://BUCKET[/PREFIX])", Exit::usage);
  }
  return url;
}

S3Client::S3Client(S3Config config, std::string bucket) : config_(std::move(config)), bucket_(std::move(bucket)) {
  if (config_.access_key.empty() || config_.secret_key.empty()) {
    throw Error("no S3 credentials for bucket " + bucket_ +
                    ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials",
                Exit::storage);
  }
  curl_ = util::make_curl_easy();
}

std::string S3Client::where() const {
  return "bucket " + bucket_ + " at " +
         (config_.endpoint.empty() ? "AWS S3 (" + config_.region + ")" : config_.endpoint);
}

std::string S3Client::url_for(const std::string& key, const std::string& q) const {
  std::string url;
  // Custom endpoints get path-style addressing; AWS virtual-hosted, except for
  // bucket names with dots, which a wildcard certificate does not cover.
  if (!config_.endpoint.empty()) {
    url = config_.endpoint + "/" + util::url_encode(bucket_);
    if (!key.empty()) url += "/" + util::url_encode(key, true);
  } else if (bucket_.find('.') != std::string::npos) {
    url = "https://s3." + config_.region + ".amazonaws.com/" + bucket_ +
          (key.empty() ? "" : "/" + util::url_encode(key, true));
  } else {
    url = "https://" + bucket_ + ".s3." + config_.region + ".amazonaws.com/" + util::url_encode(key, true);
  }
  if (!q.empty()) url += "?" + q;
  return url;
}

S3Client::Response S3Client::perform(const Request& request) {
  CURL* curl = curl_.get();
  curl_easy_reset(curl);
  Response response;
  std::string url = url_for(request.key, request.query);
  std::string sigv4 = "aws:amz:" + config_.region + ":s3";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  util::CurlErrorBuffer error;
  util::set_basic_options(curl, error);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, config_.access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.secret_key.c_str());
  if (!config_.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_bundle.c_str());
  // A connection that stalls for 30 s is dropped and the request retried.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  if (request.deadline) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(*request.deadline - std::chrono::steady_clock::now());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<std::int64_t>(left.count(), 1)));
  }
  if (request.into) request.into->clear();
  util::collect_body(curl, request.into ? request.into : &response.body);
  util::ResponseHead head;
  util::collect_head(curl, &head);
  if (request.interruptible) util::abort_on_signal(curl);
  util::CurlHeaders headers;
  for (const auto& header : request.headers) headers.add(header);
  headers.add("x-amz-content-sha256: " + util::sha256_hex(request.has_body ? request.body : std::string_view()));
  if (!config_.session_token.empty()) headers.add("x-amz-security-token: " + config_.session_token);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (request.has_body) {
    headers.add("Content-Type: application/octet-stream");
    // The body is sent with a Content-Length: RGW refuses chunked uploads.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  response.curl = curl_easy_perform(curl);
  util::CurlErrorBuffer::detach(curl);  // `error` goes with this call
  response.curl_error = error.describe(response.curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  response.headers = std::move(head.headers);
  // An error's body (its XML code) is read from the response.
  if (request.into && response.status != 200 && response.status != 206) response.body = std::move(*request.into);
  if (response.curl == CURLE_ABORTED_BY_CALLBACK) util::throw_if_interrupted();
  return response;
}

namespace {
bool transient(const S3Client::Response& r) {
  if (r.curl != CURLE_OK) return util::is_transient(r.curl);
  if (r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504) return true;
  auto code = xml_value(r.body, "Code");
  return code == "SlowDown" || code == "RequestTimeout" || code == "InternalError";
}
}  // namespace

// Retries throttling (503 SlowDown) and dropped connections with exponential
// backoff and jitter, at most config.max_attempts tries in all.
S3Client::Response S3Client::send(const Request& request) {
  static thread_local std::mt19937 random{std::random_device{}()};
  for (int attempt = 1;; ++attempt) {
    Response response = perform(request);
    if (!transient(response) || attempt >= config_.max_attempts) return response;
    auto base = std::min(200 << std::min(attempt - 1, 5), 5000);
    auto delay = std::chrono::milliseconds(base / 2 + static_cast<int>(random() % static_cast<unsigned>(base)));
    if (request.deadline && std::chrono::steady_clock::now() + delay >= *request.deadline) return response;
    spdlog::debug("S3 {} {}: {} ; retry {} in {} ms", request.method, request.key,
                  response.curl != CURLE_OK ? response.curl_error : "HTTP " + std::to_string(response.status), attempt,
                  delay.count());
    pause(delay, request.interruptible);
  }
}

void S3Client::fail(const Request& request, const Response& response) {
  std::string what = request.method + " " + (request.key.empty() ? "/" : request.key);
  if (response.curl != CURLE_OK) {
    throw S3Error("cannot reach the S3 endpoint for " + where() + " (" + what + "): " + response.curl_error, 0, "");
  }
  std::string code = xml_value(response.body, "Code");
  std::string message = xml_value(response.body, "Message");
  if (code.empty() && response.status == 404) code = request.key.empty() ? "NoSuchBucket" : "NoSuchKey";
  if (code.empty() && response.status == 403) code = "AccessDenied";
  std::string hint;
  if (code == "NoSuchBucket") hint = "the bucket does not exist";
  if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch") {
    hint = "the credentials were refused: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS_PROFILE in use";
  }
  if (code == "AccessDenied") hint = "the credentials are not allowed to do this";
  if (code == "RequestTimeTooSkewed")
    hint = "this machine's clock differs too much from the server's: set it right (NTP)";
  throw S3Error("S3 " + where() + " answered " + (code.empty() ? "an error" : code) + " (HTTP " +
                    std::to_string(response.status) + ") to " + what + (message.empty() ? "" : ": " + message) +
                    (hint.empty() ? "" : "; " + hint),
                response.status, code);
}

void S3Client::expect(const Request& request, const Response& response, std::initializer_list<long> accepted) {
  if (response.curl != CURLE_OK || !util::status_in(response.status, accepted)) fail(request, response);
}

std::optional<std::uint64_t> S3Client::head(const std::string& key) {
  Request request{"HEAD", key};
  auto response = send(request);
  if (response.curl == CURLE_OK && response.status == 404) return std::nullopt;
  expect(request, response);
  return std::strtoull(response.headers["content-length"].c_str(), nullptr, 10);
}

std::string S3Client::etag(const std::string& key) {
  Request request{"HEAD", key};
  auto response = send(request);
  expect(request, response);
  return response.headers["etag"];
}

std::optional<std::string> S3Client::get(const std::string& key) {
  Request request{"GET", key};
  auto response = send(request);
  if (response.curl == CURLE_OK && response.status == 404 && xml_value(response.body, "Code") != "NoSuchBucket") {
    return std::nullopt;
  }
  expect(request, response);
  return std::move(response.body);
}

std::string S3Client::get_range(const std::string& key, std::uint64_t offset, std::uint64_t length,
                                const std::string& etag) {
  std::string out;
  get_range_into(key, offset, length, etag, out);
  return out;
}

void S3Client::get_range_into(const std::string& key, std::uint64_t offset, std::uint64_t length,
                              const std::string& etag, std::string& out) {
  Request request{"GET", key};
  request.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
  if (!etag.empty()) request.headers.push_back("If-Match: " + etag);
  request.into = &out;
  // Grown once to the whole range: appending would double it step by step.
  if (out.capacity() < length) out.reserve(length);
  // A connection dropped mid-body is retried by send(); a short body as well.
  for (int attempt = 1;; ++attempt) {
    auto response = send(request);
    if (response.curl == CURLE_OK && response.status == 412) {
      throw S3Error("object " + key + " in " + where() + " changed while it was read", 412, "PreconditionFailed");
    }
    expect(request, response, {206, 200});
    if (response.status == 200 && offset == 0 && out.size() <= length) return;
    if (out.size() == length) return;
    if (attempt >= config_.max_attempts) {
      throw S3Error("object " + key + " in " + where() + ": short read at offset " + std::to_string(offset), 206, "");
    }
  }
}

bool S3Client::put_new(const std::string& key, std::string_view body) {
  if (head(key)) return false;
  Request request{"PUT", key};
  request.body = body;
  request.has_body = true;
  request.headers.push_back("If-None-Match: *");
  auto response = send(request);
  if (response.curl == CURLE_OK && response.status == 412) return false;
  expect(request, response);
  return true;
}

void S3Client::put(const std::string& key, std::string_view body) {
  Request request{"PUT", key};
  request.body = body;
  request.has_body = true;
  auto response = send(request);
  expect(request, response);
}

void S3Client::remove(const std::string& key) {
  Request request{"DELETE", key};
  auto response = send(request);
  expect(request, response, {204, 200, 404});
}

void S3Client::remove_within(const std::string& key, std::chrono::milliseconds limit) {
  Request request{"DELETE", key};
  request.interruptible = false;
  request.deadline = std::chrono::steady_clock::now() + limit;
  auto response = send(request);
  expect(request, response, {204, 200, 404});
}

std::vector<S3Object> S3Client::list(const std::string& prefix) {
  std::vector<S3Object> objects;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> params = {{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    Request request{"GET", "", query(params)};
    auto response = send(request);
    expect(request, response);
    for (auto item : xml_elements(response.body, "Contents")) {
      S3Object object;
      object.key = xml_value(item, "Key");
      object.size = std::strtoull(xml_value(item, "Size").c_str(), nullptr, 10);
      object.last_modified = parse_time(xml_value(item, "LastModified"));
      objects.push_back(std::move(object));
    }
    token = xml_value(response.body, "NextContinuationToken");
    if (xml_value(response.body, "IsTruncated") != "true" || token.empty()) return objects;
  }
}

std::vector<std::string> S3Client::list_folders(const std::string& prefix) {
  std::vector<std::string> folders;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> params = {
        {"list-type", "2"}, {"prefix", prefix}, {"delimiter", "/"}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    Request request{"GET", "", query(params)};
    auto response = send(request);
    expect(request, response);
    for (auto item : xml_elements(response.body, "CommonPrefixes")) {
      std::string folder = xml_value(item, "Prefix").substr(prefix.size());
      if (!folder.empty() && folder.back() == '/') folder.pop_back();
      if (!folder.empty()) folders.push_back(folder);
    }
    token = xml_value(response.body, "NextContinuationToken");
    if (xml_value(response.body, "IsTruncated") != "true" || token.empty()) return folders;
  }
}

void S3Client::check_bucket() {
  Request request{"GET", "", query({{"list-type", "2"}, {"max-keys", "1"}})};
  auto response = send(request);
  expect(request, response);
}

std::string S3Client::create_multipart(const std::string& key) {
  Request request{"POST", key, "uploads="};
  auto response = send(request);
  expect(request, response);
  auto id = xml_value(response.body, "UploadId");
  if (id.empty())
    throw S3Error("S3 " + where() + " started a multipart upload of " + key + " without an UploadId", 200, "");
  return id;
}

std::string S3Client::upload_part(const std::string& key, const std::string& upload_id, int part,
                                  std::string_view data) {
  Request request{"PUT", key, query({{"partNumber", std::to_string(part)}, {"uploadId", upload_id}})};
  request.body = data;
  request.has_body = true;
  auto response = send(request);
  expect(request, response);
  return response.headers["etag"];
}

void S3Client::complete_multipart(const std::string& key, const std::string& upload_id,
                                  const std::vector<std::string>& etags, std::uint64_t size) {
  std::string body = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  Request request{"POST", key, query({{"uploadId", upload_id}})};
  request.body = body;
  request.has_body = true;
  // Where supported, the server refuses to complete over an existing object.
  request.headers.push_back("If-None-Match: *");
  auto response = send(request);
  // CompleteMultipartUpload can fail with a 200 and an <Error> body.
  if (response.curl == CURLE_OK && response.status == 200 && xml_value(response.body, "Code").empty()) return;
  // The answer may have been lost and the request sent again (by libcurl on a
  // reused connection that closed, or by send()): the server completed the
  // upload, and the repeat finds it gone (404 NoSuchUpload) or the object
  // there (412). What the store shows decides.
  if (shows_completed(key, size, multipart_etag(etags))) return;
  fail(request, response);
}

bool S3Client::shows_completed(const std::string& key, std::uint64_t size, const std::string& etag) {
  if (etag.empty()) return false;
  Request request{"HEAD", key};
  auto response = send(request);
  if (response.curl != CURLE_OK || response.status != 200) return false;
  auto found_size = std::strtoull(response.headers["content-length"].c_str(), nullptr, 10);
  const auto& found = response.headers["etag"];
  if (found_size != size || found != etag) {
    spdlog::warn("s3://{}/{} is not this run's upload ({} bytes, ETag {}; expected {} bytes, ETag {})", bucket_, key,
                 found_size, found, size, etag);
    return false;
  }
  spdlog::info(
      "completing the upload of s3://{}/{} failed, but the store shows it completed (its answer was lost and "
      "the request repeated), with this run's {} bytes and ETag {}",
      bucket_, key, size, etag);
  return true;
}

std::string multipart_etag(const std::vector<std::string>& part_etags) {
  std::string digests;
  for (const auto& quoted : part_etags) {
    std::string_view etag = quoted;
    if (etag.size() == 34 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, 32);
    if (etag.size() != 32) return "";
    for (std::size_t i = 0; i < etag.size(); i += 2) {
      unsigned byte = 0;
      auto [end, error] = std::from_chars(etag.data() + i, etag.data() + i + 2, byte, 16);
      if (error != std::errc() || end != etag.data() + i + 2) return "";
      digests += static_cast<char>(byte);
    }
  }
  unsigned char md5[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(digests.data(), digests.size(), md5, &length, EVP_md5(), nullptr) != 1) return "";
  return "\"" + util::hex(md5, length) + "-" + std::to_string(part_etags.size()) + "\"";
}

void S3Client::abort_multipart(const std::string& key, const std::string& upload_id) {
  Request request{"DELETE", key, query({{"uploadId", upload_id}})};
  request.interruptible = false;
  auto response = send(request);
  expect(request, response, {204, 200, 404});
}

std::vector<S3Upload> S3Client::list_multipart(const std::string& prefix) {
  std::vector<S3Upload> uploads;
  std::string key_marker;
  std::string id_marker;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> params = {{"uploads", ""}, {"prefix", prefix}};
    if (!key_marker.empty()) {
      params.emplace_back("key-marker", key_marker);
      params.emplace_back("upload-id-marker", id_marker);
    }
    Request request{"GET", "", query(params)};
    auto response = send(request);
    expect(request, response);
    for (auto item : xml_elements(response.body, "Upload")) {
      uploads.push_back(
          {xml_value(item, "Key"), xml_value(item, "UploadId"), parse_time(xml_value(item, "Initiated"))});
    }
    key_marker = xml_value(response.body, "NextKeyMarker");
    id_marker = xml_value(response.body, "NextUploadIdMarker");
    if (xml_value(response.body, "IsTruncated") != "true" || key_marker.empty()) return uploads;
  }
}

}  // namespace dockform::store
