#include "dockform/ops/snapshot_stream.hpp"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <thread>

#include "dockform/util/signals.hpp"
#include "dockform/volume/helper_messages.hpp"

namespace dockform::ops {

namespace {
bool parse_whole(std::string_view text, std::uint64_t& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}
}  // namespace

// The frames are compressed on these worker threads while the caller reads
// and hashes: DOCKFORM_ZSTD_THREADS (0 = on the caller's thread, N = N
// workers, at most 8). Unset: one on two cores, where it took the bench
// volume's snapshot from 3.48 s to 2.91 s at 56 MiB peak RSS against 45
// (docs/benchmarks.md, 2026-12-07); none on one core. More cores (not
// measured): min(cores, 8).
int compression_threads() {
  if (const char* env = std::getenv("DOCKFORM_ZSTD_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    // Strictly a whole number: "abc" read as 0 would hide the typo.
    if (*end != '\0' || value < 0 || !std::isdigit(static_cast<unsigned char>(*env))) {
      throw Error("DOCKFORM_ZSTD_THREADS=" + std::string(env) +
                      ": expected a whole number of compression threads, 0 to 8 (0: on dockform's own thread)",
                  Exit::usage);
    }
    return static_cast<int>(std::min(value, 8L));
  }
  unsigned cores = std::thread::hardware_concurrency();
  if (cores <= 1) return 0;  // 0: unknown, counted as few
  if (cores == 2) return 1;
  return static_cast<int>(std::min(cores, 8u));
}

SnapshotStream::SnapshotStream(engine::RawConnection& connection, store::SnapshotSink& file, int level,
                               const std::vector<crypto::age::Recipient>& recipients, util::Progress& progress)
    : connection_(connection),
      file_(file),
      progress_(progress),
      demux_([this](engine::StreamType type, std::string_view bytes) { on_frame(type, bytes); }),
      recipients_(recipients),
      compress_(level > 0),
      buffer_(256 * 1024) {
  if (compress_) {
    frames_ = std::make_unique<archive::FrameWriter>(
        level, compression_threads(), [this](const char* data, std::size_t size) { on_compressed(data, size); },
        file.chunk_sizes(), file.frame_reuse(level));
    // Frames taken as stored come with their name: the sink need not hash them again.
    if (!encrypted()) {
      frames_->on_stored([this](const std::string& id, std::size_t size) { file_.expect_stored(id, size); });
    }
  }
}

void SnapshotStream::start_encryption() {
  // The age header goes out before the first compressed bytes, not before:
  // a stream that ends empty (the helper found a killed restore's leftovers,
  // and the caller streams again into the same sink) stores nothing.
  age_ = std::make_unique<crypto::age::Encryptor>(recipients_,
                                                  [this](const char* data, std::size_t size) { store(data, size); });
}

void SnapshotStream::on_compressed(const char* data, std::size_t size) {
  sha_.update(data, size);  // level 0: the tar's bytes
  if (encrypted()) {
    if (!age_) start_encryption();
    age_->write(data, size);
  } else {
    store(data, size);
  }
}

void SnapshotStream::store(const char* data, std::size_t size) {
  // Otherwise the bytes that sha_ saw. Not age_: the header is stored while age_ is being made.
  if (encrypted()) stored_sha_.update(data, size);
  file_.write(data, size);
}

std::string_view SnapshotStream::next_block() {
  block_.clear();
  std::string_view got;
  while (got.empty()) {
    util::throw_if_interrupted();
    if (channel_) {
      if (!read_channel(got)) return {};
      continue;
    }
    long n = connection_.read_some(buffer_.data(), buffer_.size(), std::chrono::milliseconds(200));
    if (n == 0) {
      ended_ = true;
      return {};
    }
    if (n > 0) demux_.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
    got = block_;
  }
  if (earlier_) {
    held_.append(got);
    received_ += got.size();
    release();
  } else {
    write_tar(got.data(), got.size());
  }
  progress_.update(tar_bytes_, file_.bytes_written());
  return got;
}

void SnapshotStream::write_tar(const char* data, std::size_t size) {
  tar_bytes_ += size;
  if (compress_) {
    frames_->write(data, size);
  } else {
    on_compressed(data, size);
  }
}

void SnapshotStream::splice_from(store::EarlierSnapshot earlier, const std::string& nonce) {
  if (!frames_) throw Error("internal: a splice needs frames");
  earlier_ = std::move(earlier);
  marker_prefix_ = ".dfsame." + nonce + ".";
}

void SnapshotStream::release() {
  const std::uint64_t upto = std::min(safe_, received_);
  if (upto <= held_start_) return;
  const auto count = static_cast<std::size_t>(upto - held_start_);
  write_tar(held_.data(), count);
  held_.erase(0, count);
  held_start_ = upto;
}

std::optional<std::uint64_t> SnapshotStream::take_header(const archive::TarEntry& entry, std::uint64_t header,
                                                         std::int64_t data) {
  if (!earlier_) return std::nullopt;
  if (entry.type == archive::TarEntry::Type::file && entry.size == 0 &&
      archive::normalise_member_path(entry.path).starts_with(marker_prefix_)) {
    return splice_marker(entry, header, data);
  }
  // Its headers and data are plain tar bytes; a sparse member's end comes with take_data_until.
  safe_ = entry.data_end(data).value_or(static_cast<std::uint64_t>(data));
  release();
  return std::nullopt;
}

void SnapshotStream::take_data_until(std::int64_t consumed) {
  if (!earlier_) return;
  safe_ = std::max(safe_, static_cast<std::uint64_t>(consumed));
  release();
}

void SnapshotStream::add_member(archive::Member member) {
  // Its end is not known yet (the encoder takes it from the next member).
  member.header_offset = static_cast<std::uint64_t>(static_cast<std::int64_t>(member.header_offset) + shift_);
  member.data_offset = static_cast<std::uint64_t>(static_cast<std::int64_t>(member.data_offset) + shift_);
  members_.push_back(std::move(member));
  ++member_count_;
}

void SnapshotStream::set_members_end(std::uint64_t offset) {
  members_end_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(offset) + shift_);
  safe_ = UINT64_MAX;  // the end-of-archive blocks
  if (earlier_) release();
}

// ./.dfsame.<nonce>.FIRST.COUNT: the earlier snapshot's members FIRST to
// FIRST + COUNT - 1, whose bytes follow each other there as they do here.
std::uint64_t SnapshotStream::splice_marker(const archive::TarEntry& entry, std::uint64_t header, std::int64_t data) {
  auto fields = archive::normalise_member_path(entry.path).substr(marker_prefix_.size());
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  auto dot = fields.find('.');
  const auto& members = *earlier_->members;
  if (dot == std::string::npos || !parse_whole(fields.substr(0, dot), first) ||
      !parse_whole(fields.substr(dot + 1), count) || count == 0 || first >= members.size() ||
      count > members.size() - first || header != held_start_) {
    throw Error("tar stream is damaged: a bad marker of unchanged members, " + entry.path);
  }
  held_.erase(0, static_cast<std::size_t>(static_cast<std::uint64_t>(data) - header));  // the marker's own header
  held_start_ = safe_ = static_cast<std::uint64_t>(data);
  const std::uint64_t begin = members[first].header_offset;
  const std::uint64_t end = members[first + count - 1].end_offset;
  const std::int64_t delta = static_cast<std::int64_t>(tar_bytes_) - static_cast<std::int64_t>(begin);
  std::uint64_t files = 0;
  for (std::uint64_t i = first; i < first + count; ++i) {
    archive::Member member = members[i];
    member.move_by(delta);
    if (member.counts_as_file()) ++files;
    members_.push_back(std::move(member));
  }
  frames_->splice(*earlier_->frames, begin, end);
  tar_bytes_ += end - begin;
  spliced_members_ += count;
  member_count_ += count;
  spliced_bytes_ += end - begin;
  shift_ = static_cast<std::int64_t>(tar_bytes_) - data;
  return files;
}

// The helper's messages on attach: stdout is the channel now, so every frame
// is one of them. Also serves bytes the connection read ahead.
void SnapshotStream::read_messages(std::chrono::milliseconds wait) {
  if (attach_ended_) return;
  long n = connection_.read_some(buffer_.data(), buffer_.size(), wait);
  if (n == 0) attach_ended_ = true;
  if (n > 0) demux_.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
}

// After the archive's end: the rest of the messages (the "done" line), which
// end when the helper exits. One that does not end is the wait's to report.
void SnapshotStream::drain_messages() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!attach_ended_ && std::chrono::steady_clock::now() < deadline) {
    util::throw_if_interrupted();
    read_messages(std::chrono::milliseconds(200));
  }
}

// One wait on both sides: the channel (its listening socket until the helper
// connects) and attach. Sets `got` to what the channel gave (in buffer_: no
// copy, valid until the next read); false at
// the end of the archive, or when the helper ended without connecting.
bool SnapshotStream::read_channel(std::string_view& got) {
  pollfd fds[2] = {{channel_->fd(), POLLIN, 0}, {attach_ended_ ? -1 : connection_.fd(), POLLIN, 0}};
  if (::poll(fds, 2, 200) < 0 && errno != EINTR) throw Error("poll of the helper's channel failed");
  read_messages(std::chrono::milliseconds(0));
  if (!channel_->connected()) {
    // A helper connects before it does anything else: ended without it, it never will.
    bool ended_before = attach_ended_;
    if (channel_->accept_checked()) return true;
    if (ended_before) {
      channel_refused_ = true;
      ended_ = true;
      return false;
    }
    return true;
  }
  if (fds[0].revents == 0) return true;
  long n = channel_->read_some(buffer_.data(), buffer_.size());
  if (n == 0) {
    drain_messages();
    ended_ = true;
    return false;
  }
  if (n > 0) got = std::string_view(buffer_.data(), static_cast<std::size_t>(n));
  return true;
}

void SnapshotStream::drain() {
  while (!next_block().empty()) {
  }
}

std::string SnapshotStream::finish() {
  if (compress_) index_digest_ = frames_->finish(std::move(members_), members_end_).index_sha256;
  if (encrypted() && !age_) start_encryption();  // level 0 and an empty stream: still an age file
  if (age_) age_->finish();
  if (encrypted()) stored_digest_ = stored_sha_.hex_digest();
  return sha_.hex_digest();
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
