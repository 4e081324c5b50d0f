#include "dockform/store/s3/s3_source.hpp"

#include <cstring>

#include "dockform/store/s3/s3_client.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

namespace {
// An object streamed by ranged GETs of kS3ReadChunk bytes. Each GET is retried
// on a dropped connection, and must match the ETag seen at open (a replaced
// object fails the read rather than mixing two snapshots).
class S3ObjectSource : public archive::ByteSource {
 public:
  explicit S3ObjectSource(const S3Url& url)
      : name_(url.text()), client_(S3Config::from_environment(), url.bucket), key_(url.key) {
    auto slash = key_.rfind('/');
    folder_ = slash == std::string::npos ? "" : key_.substr(0, slash + 1);
    // A listing first: unlike a HEAD, its error response carries the server's
    // code (missing bucket, refused credentials, clock skew).
    client_.check_bucket();
    auto size = client_.head(key_);
    if (!size) {
      throw Error("snapshot " + name_ + " does not exist (" + client_.where() + ")");
    }
    size_ = *size;
    etag_ = client_.etag(key_);
  }

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return size_; }

  std::string read_head(std::size_t size) override {
    std::uint64_t length = std::min<std::uint64_t>(size, size_);
    return length == 0 ? std::string() : client_.get_range(key_, 0, length, etag_);
  }

  std::size_t read(char* buffer, std::size_t size) override {
    if (used_ == chunk_.size()) {
      if (offset_ >= size_) return 0;
      std::uint64_t length = std::min<std::uint64_t>(kS3ReadChunk, size_ - offset_);
      client_.get_range_into(key_, offset_, length, etag_, chunk_);
      offset_ += chunk_.size();
      used_ = 0;
    }
    std::size_t take = std::min(size, chunk_.size() - used_);
    std::memcpy(buffer, chunk_.data() + used_, take);
    used_ += take;
    return take;
  }

  std::string sibling_name(const std::string& filename) const override {
    return "s3://" + client_.bucket() + "/" + folder_ + filename;
  }

  std::optional<std::string> read_sibling(const std::string& filename) override {
    return client_.get(folder_ + filename);
  }

 private:
  std::string name_;
  S3Client client_;
  std::string key_;
  std::string folder_;
  std::uint64_t size_ = 0;
  std::string etag_;
  std::string chunk_;
  std::size_t used_ = 0;
  std::uint64_t offset_ = 0;
};

// An object read at random by ranged GETs (a seekable snapshot's tail and
// frames), each retried as the client retries and held to the ETag seen at
// open. bytes_read() is the bytes the GETs transferred.
class S3RandomAccess : public archive::RandomAccess {
 public:
  explicit S3RandomAccess(const S3Url& url)
      : name_(url.text()), client_(S3Config::from_environment(), url.bucket), key_(url.key) {
    client_.check_bucket();  // names a missing bucket or refused credentials
    auto size = client_.head(key_);
    if (!size) throw Error("snapshot " + name_ + " does not exist (" + client_.where() + ")");
    size_ = *size;
    etag_ = client_.etag(key_);
  }

  std::uint64_t size() override { return size_; }

  std::string read(std::uint64_t offset, std::size_t length) override {
    if (offset > size_ || length > size_ - offset) {
      throw Error(name_ + " is shorter than its seek table says", Exit::refused);
    }
    if (length == 0) return {};
    std::string out = client_.get_range(key_, offset, length, etag_);
    bytes_read_ += out.size();
    return out;
  }

 private:
  std::string name_;
  S3Client client_;
  std::string key_;
  std::uint64_t size_ = 0;
  std::string etag_;
};
}  // namespace

std::unique_ptr<archive::RandomAccess> open_s3_random_access(const Location& file) {
  return std::make_unique<S3RandomAccess>(parse_s3_url(file.text()));
}

std::unique_ptr<archive::ByteSource> open_s3_snapshot(const Location& file) {
  return std::make_unique<S3ObjectSource>(parse_s3_url(file.text()));
}

}  // namespace dockform::store
