#pragma once
// Writes a seekable snapshot (seekable.hpp): cuts the tar stream with the
// Chunker, compresses each chunk into its own zstd frame on a few threads
// (independent ~1 MiB frames give libzstd's own workers nothing to share),
// and hands the frames to the sink in order; then the index and seek table.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dockform/archive/chunker.hpp"
#include "dockform/archive/seekable.hpp"
#include "dockform/util/zstd_stream.hpp"

namespace dockform::archive {

// Finds the frame an earlier snapshot compressed from a chunk with this hex
// SHA-256 and size, at the same level, and puts its bytes in `compressed`;
// false when there is none. zstd gives the same bytes for the same input and
// parameters, so a reused frame is the one compressing would make, for
// fewer CPU seconds. Called from the pool's workers: it must be thread-safe.
// `id`: the frame's name where it is kept (empty when it has none).
using FrameReuse =
    std::function<bool(const std::string& sha256, std::size_t size, std::string& compressed, std::string& id)>;

// An earlier snapshot's data frames, for FrameWriter::splice: its seek table
// (tar offsets, sizes, SHA-256 of each frame's tar bytes) and each frame's
// bytes, both as stored and as tar.
class EarlierFrames {
 public:
  virtual ~EarlierFrames() = default;
  virtual const std::vector<Frame>& frames() const = 0;
  // Frame `number` as stored, and in `id` its name where it is kept (empty
  // when it has none); throws Error when it cannot be read or is not the
  // frame the earlier snapshot names.
  virtual std::string stored(std::size_t number, std::string& id) = 0;
  // Frame `number`'s tar bytes, checked against its SHA-256.
  virtual std::string tar_bytes(std::size_t number) = 0;
};

// Compresses chunks on `threads` workers (none: on the caller's thread) and
// delivers the frames in the order the chunks came, on the caller's thread.
class FramePool {
 public:
  // `id`: a frame of submit_made's, its name where it is kept; else empty.
  using Deliver = std::function<void(std::string_view compressed, Frame frame, const std::string& id)>;
  // `max_chunk`: the largest chunk submitted, which each buffer is made for.
  FramePool(int level, int threads, std::size_t max_chunk, Deliver deliver, FrameReuse reuse = {});
  ~FramePool();
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  // Takes the chunk's bytes; leaves `chunk` empty, with room for the next
  // one. Every buffer is made once and goes round (a fresh megabyte per frame
  // cost page faults and zero-filling, and freed buffers stayed in each
  // thread's malloc arena: 19 MiB more peak RSS with one worker).
  void submit(std::string& chunk);
  // Delivers `stored`, a frame made earlier from tar bytes with this
  // SHA-256 and size, in turn after the chunks submitted before it.
  void submit_made(std::string_view stored, std::uint32_t tar_size, const std::string& sha256, std::string id = {});
  // Waits for every chunk submitted and delivers it.
  void flush();

 private:
  struct Job {
    std::string input;
    std::unique_ptr<char[]> output;
    std::size_t output_capacity = 0;
    std::size_t output_size = 0;
    std::size_t tar_size = 0;  // the frame's bytes of tar
    std::string sha256;
    std::string reused;  // a reused frame's bytes, on their way to `output`
    std::string id;      // submit_made's: the frame's name where it is kept
    bool done = false;
    std::exception_ptr error;
  };
  void work(int level);
  // The job's frame: reused when reuse_ has it, compressed otherwise.
  void make_frame(Job& job, util::ZstdFrameCompressor& zstd);
  void stop();
  // Delivers the finished jobs at the front; with `wait`, waits for the first.
  void deliver_ready(bool wait);
  Job* take_job();

  Deliver deliver_;
  FrameReuse reuse_;
  std::size_t max_chunk_;
  std::size_t max_in_flight_;
  std::vector<std::unique_ptr<Job>> owned_;  // at most max_in_flight_, made on demand
  std::vector<Job*> idle_;
  std::deque<Job*> jobs_;  // in flight, in submission order
  std::deque<Job*> todo_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable job_done_;
  bool stopping_ = false;
  std::unique_ptr<util::ZstdFrameCompressor> inline_;  // without workers
  std::vector<std::thread> workers_;
};

class FrameWriter {
 public:
  FrameWriter(int level, int threads, util::ByteSink sink, ChunkSizes sizes = kFileChunks, FrameReuse reuse = {});

  void write(const char* data, std::size_t size);
  // The next bytes of the tar stream are the earlier snapshot's [begin, end):
  // its frames lying wholly in that range from a point where both streams
  // cut are taken as stored, neither read as tar nor hashed; the rest is cut
  // from the earlier frames' tar bytes as write() would cut it. Once two
  // streams of the same bytes cut at the same place, they cut alike until the
  // bytes differ, so the output is byte for byte what write() of the same
  // bytes gives.
  void splice(EarlierFrames& earlier, std::uint64_t begin, std::uint64_t end);
  // Frames taken as stored by splice(), and their bytes of tar.
  std::uint64_t spliced_frames() const { return spliced_frames_; }
  std::uint64_t spliced_bytes() const { return spliced_bytes_; }
  // Called with a spliced frame's id (EarlierFrames::stored) right before
  // its bytes go to the sink: where it is kept, it need not be named again.
  void on_stored(std::function<void(const std::string& id, std::size_t size)> callback) {
    on_stored_ = std::move(callback);
  }
  // Ends the last frame, then writes the index of `members` (offsets in the
  // tar stream; members_end where the end-of-archive blocks start) and the
  // seek table. Returns the index as written (hex SHA-256 of its frame included).
  const SeekableIndex& finish(std::vector<Member> members, std::uint64_t members_end);

 private:
  void on_frame(std::string_view compressed, Frame frame, const std::string& id);
  // Feeds `data` to the chunker up to its first cut (submitting the chunk);
  // returns the bytes taken.
  std::size_t feed_to_cut(const char* data, std::size_t size);
  int level_;
  util::ByteSink sink_;
  Chunker chunker_;
  std::string chunk_;
  SeekableIndex index_;
  std::uint64_t tar_offset_ = 0;
  std::uint64_t file_offset_ = 0;
  std::uint64_t spliced_frames_ = 0;
  std::uint64_t spliced_bytes_ = 0;
  std::function<void(const std::string& id, std::size_t size)> on_stored_;
  FramePool pool_;  // last: its workers stop before the rest goes
};

}  // namespace dockform::archive
