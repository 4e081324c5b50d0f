#include "dockform/store/s3/s3_sink.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "dockform/store/naming.hpp"
#include "dockform/store/s3/s3_store.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
constexpr int kMaxParts = 10000;  // the S3 limit

std::string folder_prefix(const S3Url& base, const std::string& volume) {
  return (base.key.empty() ? "" : base.key + "/") + volume + "/";
}

// Uploads the parts on a thread of its own (with its own connection) while
// compression goes on; at most kS3PartsQueued parts wait or travel at once.
// The part buffers are allocated once and handed back and forth: freed and
// allocated again, 8 MiB blocks would stay resident in the allocator's arenas.
class S3Sink : public SnapshotSink {
 public:
  S3Sink(const S3Url& base, const std::string& volume, std::time_t start, const std::string& spec_hash,
         std::string extension)
      : config_(S3Config::from_environment()),
        client_(config_, base.bucket),
        prefix_(folder_prefix(base, volume)),
        extension_(std::move(extension)) {
    client_.check_bucket();
    auto live = client_.list_multipart(prefix_);
    // Any volume's: a killed run's upload is cleaned by the next run into the same place.
    abort_stale_uploads(client_, base.key.empty() ? "" : base.key + "/", abandoned_upload_age());
    choose_name(start, spec_hash, live);
    // Allocated before the upload exists and before the thread runs: a throw
    // here needs no cleanup (a constructor that throws runs no destructor, and
    // a joinable thread member would end the process).
    buffer_.reserve(kS3PartSize);
    upload_id_ = client_.create_multipart(key_);
    spdlog::debug("multipart upload {} of {}", upload_id_, location(stem_ + extension_));
    try {
      worker_ = std::thread([this] { upload_parts(); });
    } catch (...) {
      client_.abort_multipart(key_, upload_id_);  // never throws
      throw;
    }
  }

  ~S3Sink() override {
    stop_worker();
    if (completed_) return;
    try {
      client_.abort_multipart(key_, upload_id_);
      spdlog::debug("aborted multipart upload of {}", location(stem_ + extension_));
    } catch (const std::exception& e) {
      spdlog::warn(
          "could not abort the multipart upload of {} ({}); a later snapshot or the bucket's "
          "lifecycle rule removes it",
          location(stem_ + extension_), e.what());
    }
  }

  void write(const void* data, std::size_t size) override {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
      std::size_t take = std::min(size, kS3PartSize - buffer_.size());
      buffer_.append(bytes, take);
      bytes += take;
      size -= take;
      written_ += take;
      if (buffer_.size() == kS3PartSize) queue_part();
    }
  }

  std::uint64_t bytes_written() const override { return written_; }

  std::time_t commit(const std::string& /*sha256*/) override {
    if (!buffer_.empty() || parts_queued_ == 0) queue_part();
    wait_until([this] { return queue_.empty() && in_flight_ == 0; });
    stop_worker();
    // A multipart upload cannot be renamed: the name was chosen at the start;
    // refuse rather than overwrite if it was taken since.
    if (client_.head(key_) || client_.head(sidecar_key())) {
      throw Error("snapshot " + location(stem_ + extension_) + " appeared while uploading it; nothing was replaced");
    }
    client_.complete_multipart(key_, upload_id_, etags_, written_);
    completed_ = true;
    return time_;
  }

  void write_sidecar(const std::string& stem, std::string_view text) override {
    if (!client_.put_new(prefix_ + stem + ".json", text)) {
      throw Error("sidecar " + location(stem + ".json") + " appeared while writing it");
    }
  }

  void remove_data(const std::string& stem) override { client_.remove(prefix_ + stem + extension_); }

  std::string location(const std::string& filename) const override {
    return "s3://" + client_.bucket() + "/" + prefix_ + filename;
  }
  const std::string& extension() const override { return extension_; }

 private:
  std::string sidecar_key() const { return prefix_ + stem_ + ".json"; }

  // The first second from the start whose data, sidecar and upload are all free.
  void choose_name(std::time_t start, const std::string& spec_hash, const std::vector<S3Upload>& live) {
    for (std::time_t t = start; t < start + 3600; ++t) {
      std::string stem = snapshot_stem(t, spec_hash);
      std::string key = prefix_ + stem + extension_;
      bool uploading = std::any_of(live.begin(), live.end(), [&](const S3Upload& u) { return u.key == key; });
      if (uploading || client_.head(key) || client_.head(prefix_ + stem + ".json")) continue;
      time_ = t;
      stem_ = stem;
      key_ = key;
      return;
    }
    throw Error("no free snapshot name under " + location("") + " for an hour after " + iso_timestamp(start));
  }

  void queue_part() {
    if (parts_queued_ >= kMaxParts) {
      throw Error("snapshot too large for " + location(stem_ + extension_) + ": more than " +
                  std::to_string(kMaxParts) + " parts of " + std::to_string(kS3PartSize >> 20) + " MiB");
    }
    wait_until([this] { return queue_.size() + in_flight_ < kS3PartsQueued; });
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(buffer_));
    ++parts_queued_;
    etags_.emplace_back();
    changed_.notify_all();
    // The buffer of the part uploaded last, if any; else the first allocation of the second one.
    buffer_ = std::move(spare_);
    buffer_.clear();
    if (buffer_.capacity() < kS3PartSize) buffer_.reserve(kS3PartSize);
  }

  // Waits for `done`, rethrowing the worker's error and noticing SIGINT/SIGTERM.
  template <typename Done>
  void wait_until(Done done) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (error_) std::rethrow_exception(error_);
      if (done()) return;
      lock.unlock();
      util::throw_if_interrupted();
      lock.lock();
      changed_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }

  void upload_parts() {
    try {
      S3Client client(config_, client_.bucket());
      for (int number = 1;; ++number) {
        std::string part;
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
          if (queue_.empty()) return;
          part = std::move(queue_.front());
          queue_.pop_front();
          ++in_flight_;
        }
        std::string etag = client.upload_part(key_, upload_id_, number, part);
        std::lock_guard lock(mutex_);
        etags_[static_cast<std::size_t>(number - 1)] = etag;
        spare_ = std::move(part);
        --in_flight_;
        changed_.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
      changed_.notify_all();
    }
  }

  void stop_worker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      queue_.clear();
      changed_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

  S3Config config_;
  S3Client client_;
  std::string prefix_;
  std::string extension_;
  std::string stem_;
  std::string key_;
  std::time_t time_ = 0;
  std::string upload_id_;
  std::string buffer_;
  std::uint64_t written_ = 0;
  int parts_queued_ = 0;
  bool completed_ = false;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::string spare_;  // a part buffer back from the uploader, to fill again
  std::size_t in_flight_ = 0;
  std::vector<std::string> etags_;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};
}  // namespace

std::time_t abandoned_upload_age() {
  const char* set = std::getenv("DOCKFORM_S3_ABANDONED_AFTER");
  if (set == nullptr || *set == '\0') return 24 * 3600;
  // Strictly a whole number: a value read as 0 would abort live runs' uploads.
  std::string_view text(set);
  std::time_t seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || seconds < 0) {
    throw Error("DOCKFORM_S3_ABANDONED_AFTER=" + std::string(text) +
                    ": expected a whole number of seconds (e.g. 86400 for a day), the age after which an unfinished "
                    "snapshot upload counts as abandoned",
                Exit::usage);
  }
  return seconds;
}

void check_s3_sink_settings() { abandoned_upload_age(); }

int abort_stale_uploads(S3Client& client, const std::string& prefix, std::time_t older_than) {
  int aborted = 0;
  std::time_t now = std::time(nullptr);
  for (const auto& upload : client.list_multipart(prefix)) {
    // Only snapshot uploads: other tools may share the bucket.
    if (!upload.key.ends_with(kDataExtension) && !upload.key.ends_with(kEncryptedExtension)) continue;
    if (upload.initiated == 0 || now - upload.initiated < older_than) continue;
    client.abort_multipart(upload.key, upload.upload_id);
    spdlog::info("aborted an unfinished upload of s3://{}/{} started {} (left by an interrupted run)", client.bucket(),
                 upload.key, iso_timestamp(upload.initiated));
    ++aborted;
  }
  return aborted;
}

std::unique_ptr<SnapshotSink> open_s3_sink(const S3Url& base, const std::string& volume, std::time_t start,
                                           const std::string& spec_hash, const std::string& extension) {
  return std::make_unique<S3Sink>(base, volume, start, spec_hash, extension);
}

}  // namespace dockform::store
