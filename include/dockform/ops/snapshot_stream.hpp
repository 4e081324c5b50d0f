#pragma once
// Snapshot's side of the archiving helper's attach connection: pulls the
// helper's tar stream and, in the same pass, compresses, hashes and writes it
// to the snapshot sink (a temporary file, or an upload), encrypting the
// compressed bytes first when there are recipients. The tar parser pulls from here.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/archive/frame_writer.hpp"
#include "dockform/archive/seekable.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/engine/demux.hpp"
#include "dockform/engine/http.hpp"
#include "dockform/store/snapshot_sink.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"
#include "dockform/volume/helper_messages.hpp"
#include "dockform/volume/local_channel.hpp"

namespace dockform::ops {

// The frame-compressing threads: DOCKFORM_ZSTD_THREADS, else a choice by the
// core count. Throws Error (usage) naming a value that is not a whole number.
int compression_threads();

class SnapshotStream {
 public:
  // No recipients: the compressed tar is stored as it is. Level 0: the tar
  // is not compressed (a copy between engines on one machine).
  SnapshotStream(engine::RawConnection& connection, store::SnapshotSink& file, int level,
                 const std::vector<crypto::age::Recipient>& recipients, util::Progress& progress);

  // The next bytes of the tar stream; empty once the helper's output ended.
  std::string_view next_block();
  void drain();
  // The tar walker's record of each member, in order, and where the
  // end-of-archive blocks start: the index that finish() writes.
  // Offsets in the helper's stream, which the nightly fast path's markers
  // make differ from the tar's.
  void add_member(archive::Member member);
  void set_members_end(std::uint64_t offset);

  // The nightly fast path: the helper leaves out members unchanged since
  // `earlier` and marks each run of them with an entry named
  // ./.dfsame.<nonce>.FIRST.COUNT; their bytes come from `earlier` instead
  // (FrameWriter::splice). From here on the stream holds back the helper's
  // bytes until the walk knows which member they belong to.
  void splice_from(store::EarlierSnapshot earlier, const std::string& nonce);
  // For the walk, with each header as it is read (at `header`, its data at
  // `data`, offsets in the helper's stream): a marker is replaced by the
  // members it stands for, and the files among them are returned.
  std::optional<std::uint64_t> take_header(const archive::TarEntry& entry, std::uint64_t header, std::int64_t data);
  // For the walk, while a sparse member's data is read: bytes before `consumed` are its.
  void take_data_until(std::int64_t consumed);
  // Members taken from the earlier snapshot, and their bytes of tar.
  std::uint64_t spliced_members() const { return spliced_members_; }
  std::uint64_t spliced_bytes() const { return spliced_bytes_; }
  std::uint64_t members() const { return member_count_; }
  std::uint64_t spliced_frames() const { return frames_ ? frames_->spliced_frames() : 0; }
  // The helper's "stat" lines (--stat).
  volume::StampCollector& stamps() { return messages_.stamps(); }
  // Ends the last zstd frame, writes the index and the seek table (and ends
  // the age stream); returns the hex SHA-256 of the compressed file, which is
  // what an encrypted file decrypts to.
  std::string finish();
  // The hex SHA-256 of the index frame (after finish(); empty at level 0).
  const std::string& index_digest() const { return index_digest_; }
  // The hex SHA-256 of the bytes stored (after finish()): the encrypted file.
  const std::string& stored_digest() const { return stored_digest_; }

  std::uint64_t tar_bytes() const { return tar_bytes_; }
  // The helper's output has ended (it exited, or was killed).
  bool ended() const { return ended_; }
  // What the helper said on stderr (warnings, errors).
  volume::HelperReport helper_report() const { return messages_.report(); }
  // The archive comes through `channel` (local_channel.hpp); the attach
  // connection carries the helper's messages only.
  void use_channel(volume::LocalChannel* channel) { channel_ = channel; }
  // With a channel: the helper ended without connecting to it (it could not
  // see the folder): nothing was read, the caller goes back to attach.
  bool channel_refused() const { return channel_refused_; }
  // Called once with the helper's "estimate" line, if it sends one.
  void on_estimate(std::function<void(std::uint64_t)> callback) { on_estimate_ = std::move(callback); }

 private:
  void on_frame(engine::StreamType type, std::string_view bytes);
  void store(const char* data, std::size_t size);
  void on_compressed(const char* data, std::size_t size);
  // The tar stream's next bytes, to the frames (or, at level 0, the sink).
  void write_tar(const char* data, std::size_t size);
  // Sends what is held back and known to be plain tar bytes.
  void release();
  std::uint64_t splice_marker(const archive::TarEntry& entry, std::uint64_t header, std::int64_t data);
  void start_encryption();
  bool encrypted() const { return !recipients_.empty(); }
  bool read_channel(std::string_view& got);
  void read_messages(std::chrono::milliseconds wait);
  void drain_messages();

  engine::RawConnection& connection_;
  store::SnapshotSink& file_;
  util::Progress& progress_;
  engine::Demuxer demux_;
  // Each hash runs only over bytes no other one sees: at level 0 the
  // compressed bytes are the tar's, and without recipients they are stored
  // as they are (each pass costs about 0.6 s of one core per GB). The tar
  // itself has no hash of its own: the index's frame hashes cover it.
  util::Sha256 sha_;
  util::Sha256 stored_sha_;
  std::string stored_digest_;
  std::vector<crypto::age::Recipient> recipients_;
  std::unique_ptr<crypto::age::Encryptor> age_;  // null: not encrypted, or nothing compressed yet
  bool compress_;
  // Null at level 0.
  std::unique_ptr<archive::FrameWriter> frames_;
  std::vector<archive::Member> members_;
  std::uint64_t members_end_ = 0;
  std::string index_digest_;
  std::vector<char> buffer_;
  std::string block_;
  volume::HelperMessages messages_;
  std::function<void(std::uint64_t)> on_estimate_;
  std::uint64_t tar_bytes_ = 0;
  // The nightly fast path (splice_from): the helper's bytes from held_start_
  // on, not yet known to be plain tar bytes, and the offset below which they are.
  std::optional<store::EarlierSnapshot> earlier_;
  std::string marker_prefix_;
  std::string held_;
  std::uint64_t held_start_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t safe_ = 0;
  std::int64_t shift_ = 0;  // the tar's offset less the helper stream's, past the last marker
  std::uint64_t spliced_members_ = 0;
  std::uint64_t member_count_ = 0;  // members_ is handed to the index at finish()
  std::uint64_t spliced_bytes_ = 0;
  bool ended_ = false;
  volume::LocalChannel* channel_ = nullptr;
  bool attach_ended_ = false;
  bool channel_refused_ = false;
};

}  // namespace dockform::ops
