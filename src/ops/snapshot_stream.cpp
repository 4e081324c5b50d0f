#include "dockform/ops/snapshot_stream.hpp"

#include <algorithm>
#include <thread>

#include "dockform/util/signals.hpp"
#include "dockform/volume/helper_messages.hpp"

namespace dockform::ops {

namespace {
int compression_threads() {
  unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(cores == 0 ? 2 : std::min(cores, 8u));
}
}  // namespace

SnapshotStream::SnapshotStream(engine::RawConnection& connection, store::SnapshotSink& file, int level,
                               const std::vector<crypto::age::Recipient>& recipients, util::Progress& progress)
    : connection_(connection),
      file_(file),
      progress_(progress),
      demux_([this](engine::StreamType type, std::string_view bytes) { on_frame(type, bytes); }),
      compress_(level > 0),
      encrypted_(!recipients.empty()),
      zstd_(std::max(level, 1), compression_threads(),
            [this](const char* data, std::size_t size) { on_compressed(data, size); }),
      buffer_(256 * 1024) {
  // The age header goes out first; the compressed bytes follow, chunk by chunk.
  if (!recipients.empty()) {
    age_ = std::make_unique<crypto::age::Encryptor>(recipients,
                                                    [this](const char* data, std::size_t size) { store(data, size); });
  }
}

void SnapshotStream::on_compressed(const char* data, std::size_t size) {
  if (compress_) sha_.update(data, size);  // level 0: these are the tar's bytes, hashed in next_block
  if (age_) {
    age_->write(data, size);
  } else {
    store(data, size);
  }
}

void SnapshotStream::store(const char* data, std::size_t size) {
  // Otherwise the bytes that sha_ (or tar_sha_) saw. Not age_: the header is stored while age_ is being made.
  if (encrypted_) stored_sha_.update(data, size);
  file_.write(data, size);
}

std::string_view SnapshotStream::next_block() {
  block_.clear();
  while (block_.empty()) {
    util::throw_if_interrupted();
    long n = connection_.read_some(buffer_.data(), buffer_.size(), std::chrono::milliseconds(200));
    if (n == 0) {
      ended_ = true;
      return {};
    }
    if (n > 0) demux_.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
  }
  tar_bytes_ += block_.size();
  tar_sha_.update(block_.data(), block_.size());
  if (compress_) {
    zstd_.write(block_.data(), block_.size());
  } else {
    on_compressed(block_.data(), block_.size());
  }
  progress_.update(tar_bytes_, file_.bytes_written());
  return block_;
}

void SnapshotStream::drain() {
  while (!next_block().empty()) {
  }
}

std::string SnapshotStream::finish() {
  if (compress_) zstd_.finish();
  if (age_) age_->finish();
  tar_digest_ = tar_sha_.hex_digest();
  if (encrypted_) stored_digest_ = stored_sha_.hex_digest();
  return compress_ ? sha_.hex_digest() : tar_digest_;
}

void SnapshotStream::on_frame(engine::StreamType type, std::string_view bytes) {
  if (type == engine::StreamType::stdout_) {
    block_.append(bytes);
    return;
  }
  // One line per changed path: read as they come, counted past the first ones.
  messages_.feed(bytes);
  if (on_estimate_ && messages_.estimate()) {
    on_estimate_(*messages_.estimate());
    on_estimate_ = nullptr;
  }
}

}  // namespace dockform::ops
