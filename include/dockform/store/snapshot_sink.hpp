#pragma once
// Where a new snapshot's bytes go: a local folder (a hidden temporary linked
// to its final name), an S3 bucket (a multipart upload completed under its
// final key), or standard output. A store's sink (Store::open_sink) makes
// the data appear under its final name only when complete, never replaces
// an existing snapshot, and when abandoned leaves nothing under a final name.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/archive/chunker.hpp"
#include "dockform/archive/frame_writer.hpp"

namespace dockform::store {

// The snapshot a nightly run builds on (snapshot.cpp, "the nightly fast
// path"): its name, its members and its frames.
struct EarlierSnapshot {
  std::string stem;
  const std::vector<archive::Member>* members = nullptr;
  std::uint64_t members_end = 0;
  archive::EarlierFrames* frames = nullptr;
};

class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual void write(const void* data, std::size_t size) = 0;
  virtual std::uint64_t bytes_written() const = 0;
  // Makes the data durable under <stem><extension>, the stem naming the first
  // free second from the start time on (a name whose data or sidecar exists is
  // taken), and returns that second. `sha256`: the hex SHA-256 of every byte
  // written, which the caller computed as it wrote (the sidecar's checksum); a
  // sink that records it (a repository's recipe) takes it from here rather
  // than hashing the bytes a second time.
  virtual std::time_t commit(const std::string& sha256) = 0;
  // Writes <stem>.json; throws Error if it exists already.
  virtual void write_sidecar(const std::string& stem, std::string_view text) = 0;
  // Takes the committed data back (a data file without its sidecar would look like a snapshot).
  virtual void remove_data(const std::string& stem) = 0;
  // Path or s3:// URL of a file of this volume's folder, for messages and results.
  virtual std::string location(const std::string& filename) const = 0;
  // The data file's extension: ".tar.zst", or ".tar.zst.age" when encrypted.
  virtual const std::string& extension() const = 0;
  // The frame sizes the snapshot is cut to: a repository's own, else the file format's.
  virtual archive::ChunkSizes chunk_sizes() const { return archive::kFileChunks; }
  // Frames an earlier snapshot compressed at `level` that this one may take
  // as they are (a repository's: its newest snapshot of the volume); empty
  // for sinks that keep none.
  virtual archive::FrameReuse frame_reuse(int /*level*/) { return {}; }
  // After frame_reuse(): the snapshot whose frames it lends, when a
  // snapshot may take whole members from it; owned by the sink.
  virtual std::optional<EarlierSnapshot> earlier() { return std::nullopt; }
  // Whether earlier() can ever give one (a repository): then a snapshot
  // records what the next one needs to build on it.
  virtual bool builds_on_earlier() const { return false; }
  // The next write() is one frame of `size` bytes that is kept under `id`
  // already (a frame of earlier() taken as stored, checked as it was read).
  virtual void expect_stored(const std::string& /*id*/, std::size_t /*size*/) {}
  // Whether the data is sealed where it is kept though the file is a plain
  // .tar.zst (an encrypted repository's snapshot).
  virtual bool sealed() { return false; }
};

}  // namespace dockform::store
