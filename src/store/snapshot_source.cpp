#include "dockform/store/snapshot_source.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dockform/store/s3_client.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

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
// Standard input (`restore VOLUME -`): read once, in order. The head that the
// format checks look at is kept and served again to the first reads; the
// size is unknown (0). Its one sibling is the --sidecar file, if any.
class StdinSource : public archive::ByteSource {
 public:
  StdinSource(std::string sidecar_file, int fd) : sidecar_file_(std::move(sidecar_file)), fd_(fd) {}

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return 0; }

  std::string read_head(std::size_t size) override {
    if (reading_) throw Error("standard input: its head was asked for after the reading began");
    while (head_.size() < size && !ended_) {
      std::string more(std::min<std::size_t>(size - head_.size(), 1 << 16), '\0');
      std::size_t n = read_fd(more.data(), more.size());
      if (n == 0) ended_ = true;
      head_.append(more.data(), n);
    }
    return head_.substr(0, size);
  }

  std::size_t read(char* buffer, std::size_t size) override {
    reading_ = true;
    if (used_ < head_.size()) {
      std::size_t take = std::min(size, head_.size() - used_);
      std::memcpy(buffer, head_.data() + used_, take);
      used_ += take;
      if (used_ == head_.size()) std::string().swap(head_), used_ = 0;
      return take;
    }
    return ended_ ? 0 : read_fd(buffer, size);
  }

  std::string sibling_name(const std::string&) const override { return sidecar_file_; }
  std::optional<std::string> read_sibling(const std::string&) override {
    if (sidecar_file_.empty()) return std::nullopt;
    std::ifstream in(sidecar_file_, std::ios::binary);
    if (!in) throw Error("cannot read the sidecar " + sidecar_file_, Exit::usage);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::size_t read_fd(char* buffer, std::size_t size) const {
    for (;;) {
      ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw Error(std::string("cannot read standard input: ") + std::strerror(errno));
      util::throw_if_interrupted();
    }
  }

  std::string name_ = "-";
  std::string sidecar_file_;
  int fd_;
  std::string head_;
  std::size_t used_ = 0;
  bool ended_ = false;
  bool reading_ = false;
};
}  // namespace

std::unique_ptr<archive::ByteSource> open_snapshot(const std::string& location, const std::string& sidecar_file,
                                                   int stream_fd) {
  if (location == "-") return std::make_unique<StdinSource>(sidecar_file, stream_fd);
  if (!sidecar_file.empty()) throw Error("--sidecar FILE goes with - (standard input)", Exit::usage);
  if (is_s3_url(location)) return std::make_unique<S3ObjectSource>(parse_s3_url(location));
  // The path checks first: their messages name a missing file or a wrong extension.
  archive::detect_format(std::filesystem::path(location));
  return archive::open_local_file(location);
}

}  // namespace dockform::store
