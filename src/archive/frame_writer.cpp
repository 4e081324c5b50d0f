#include "dockform/archive/frame_writer.hpp"

#include <algorithm>
#include <utility>

#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::archive {

FramePool::FramePool(int level, int threads, std::size_t max_chunk, Deliver deliver, FrameReuse reuse)
    : deliver_(std::move(deliver)),
      reuse_(std::move(reuse)),
      max_chunk_(max_chunk),
      // Frames in flight per worker: two of a file's (4 MiB chunks at most), four of a
      // repository's (1 MiB). The deeper queue keeps the caller and the worker busy
      // together: a nightly snapshot's second 1.62 -> 1.48 s (docs/benchmarks.md).
      max_in_flight_(static_cast<std::size_t>(std::max(threads, 1)) *
                     std::max<std::size_t>(2, (4u << 20) / std::max<std::size_t>(max_chunk, 1))) {
  if (threads <= 0) {
    inline_ = std::make_unique<util::ZstdFrameCompressor>(level);
    owned_.push_back(std::make_unique<Job>());  // the one job the caller's thread fills
    owned_.back()->input.reserve(max_chunk);
    return;
  }
  try {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this, level] { work(level); });
  } catch (...) {
    stop();  // the destructor does not run for a constructor that throws
    throw;
  }
}

FramePool::~FramePool() { stop(); }

void FramePool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

void FramePool::work(int level) {
  std::unique_ptr<util::ZstdFrameCompressor> zstd;
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !todo_.empty(); });
      if (stopping_) return;
      job = todo_.front();
      todo_.pop_front();
    }
    try {
      if (!zstd) zstd = std::make_unique<util::ZstdFrameCompressor>(level);
      make_frame(*job, *zstd);
    } catch (...) {
      job->error = std::current_exception();
    }
    {
      std::lock_guard lock(mutex_);
      job->done = true;
    }
    job_done_.notify_all();
  }
}

void FramePool::make_frame(Job& job, util::ZstdFrameCompressor& zstd) {
  job.tar_size = job.input.size();
  job.sha256 = util::sha256_hex(job.input);
  const std::size_t bound = util::zstd_compress_bound(job.input.size());
  if (bound > job.output_capacity) {
    job.output = std::make_unique_for_overwrite<char[]>(bound);
    job.output_capacity = bound;
  }
  job.id.clear();
  if (reuse_ && reuse_(job.sha256, job.input.size(), job.reused, job.id) && job.reused.size() <= job.output_capacity) {
    std::copy(job.reused.begin(), job.reused.end(), job.output.get());
    job.output_size = job.reused.size();
    return;
  }
  job.id.clear();  // compressed here: no name yet
  job.output_size = zstd.compress_into(job.input, job.output.get(), job.output_capacity);
}

void FramePool::submit(std::string& chunk) {
  if (inline_) {
    Job& job = *owned_.front();
    job.input.swap(chunk);
    chunk.clear();
    make_frame(job, *inline_);
    deliver_(
        std::string_view(job.output.get(), job.output_size),
        Frame{static_cast<std::uint32_t>(job.output_size), static_cast<std::uint32_t>(job.tar_size), 0, 0, job.sha256},
        job.id);
    return;
  }
  Job* job = take_job();
  job->input.swap(chunk);  // chunk gets the job's emptied buffer
  {
    std::lock_guard lock(mutex_);
    job->done = false;
    job->error = nullptr;
    jobs_.push_back(job);
    todo_.push_back(job);
  }
  work_ready_.notify_one();
  // Holds memory to a few chunks: the caller waits when the workers lag.
  deliver_ready(jobs_.size() >= max_in_flight_);
}

void FramePool::submit_made(std::string_view stored, std::uint32_t tar_size, const std::string& sha256,
                            std::string id) {
  if (inline_) {
    deliver_(stored, Frame{static_cast<std::uint32_t>(stored.size()), tar_size, 0, 0, sha256}, id);
    return;
  }
  Job* job = take_job();
  if (stored.size() > job->output_capacity) {
    job->output = std::make_unique_for_overwrite<char[]>(stored.size());
    job->output_capacity = stored.size();
  }
  std::copy(stored.begin(), stored.end(), job->output.get());
  job->output_size = stored.size();
  job->tar_size = tar_size;
  job->sha256 = sha256;
  job->id = std::move(id);
  {
    std::lock_guard lock(mutex_);
    job->done = true;  // nothing for a worker to do: it waits only for those before it
    job->error = nullptr;
    jobs_.push_back(job);
  }
  deliver_ready(jobs_.size() >= max_in_flight_);
}

FramePool::Job* FramePool::take_job() {
  if (idle_.empty()) {
    // Made on the caller's thread, so every buffer lives in one malloc arena.
    owned_.push_back(std::make_unique<Job>());
    Job& made = *owned_.back();
    made.input.reserve(max_chunk_);
    made.output_capacity = util::zstd_compress_bound(max_chunk_);
    made.output = std::make_unique_for_overwrite<char[]>(made.output_capacity);
    idle_.push_back(&made);
  }
  Job* job = idle_.back();
  idle_.pop_back();
  job->input.clear();  // a delivery that threw may have left it full
  return job;
}

void FramePool::deliver_ready(bool wait) {
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock lock(mutex_);
      if (jobs_.empty()) return;
      if (wait) job_done_.wait(lock, [this] { return jobs_.front()->done; });
      if (!jobs_.front()->done) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    wait = false;
    idle_.push_back(job);  // before a rethrow too: the pool still owns it
    if (job->error) std::rethrow_exception(job->error);
    deliver_(std::string_view(job->output.get(), job->output_size),
             Frame{static_cast<std::uint32_t>(job->output_size), static_cast<std::uint32_t>(job->tar_size), 0, 0,
                   job->sha256},
             job->id);
  }
}

void FramePool::flush() {
  while (!jobs_.empty()) deliver_ready(true);
}

FrameWriter::FrameWriter(int level, int threads, util::ByteSink sink, ChunkSizes sizes, FrameReuse reuse)
    : level_(level),
      sink_(std::move(sink)),
      chunker_(sizes),
      pool_(
          level, threads, sizes.max,
          [this](std::string_view compressed, Frame frame, const std::string& id) { on_frame(compressed, frame, id); },
          std::move(reuse)) {
  chunk_.reserve(sizes.max);  // room for the largest chunk: no regrowth, no copies
}

void FrameWriter::on_frame(std::string_view compressed, Frame frame, const std::string& id) {
  frame.file_offset = file_offset_;
  frame.tar_offset = tar_offset_;
  file_offset_ += frame.compressed;
  tar_offset_ += frame.decompressed;
  index_.frames.push_back(frame);
  if (!id.empty() && on_stored_) on_stored_(id, compressed.size());
  sink_(compressed.data(), compressed.size());
}

void FrameWriter::write(const char* data, std::size_t size) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  while (size > 0) {
    auto step = chunker_.feed(bytes, size);
    chunk_.append(reinterpret_cast<const char*>(bytes), step.taken);
    bytes += step.taken;
    size -= step.taken;
    if (step.cut) pool_.submit(chunk_);
  }
}

std::size_t FrameWriter::feed_to_cut(const char* data, std::size_t size) {
  auto step = chunker_.feed(reinterpret_cast<const unsigned char*>(data), size);
  chunk_.append(data, step.taken);
  if (step.cut) pool_.submit(chunk_);
  return step.taken;
}

void FrameWriter::splice(EarlierFrames& earlier, std::uint64_t begin, std::uint64_t end) {
  const auto& frames = earlier.frames();
  std::uint64_t at = begin;
  std::size_t number = frame_at(frames, at);
  std::string tar;  // frame `number`'s tar bytes, once read
  while (at < end) {
    if (number >= frames.size() || at < frames[number].tar_offset ||
        at >= frames[number].tar_offset + frames[number].decompressed) {
      throw Error("the earlier snapshot's frames do not cover its tar bytes at " + std::to_string(at));
    }
    const Frame& frame = frames[number];
    const std::uint64_t frame_end = frame.tar_offset + frame.decompressed;
    // The last frame ended with its stream, not at a cut.
    const bool cut_at_end = number + 1 < frames.size();
    if (chunk_.empty() && at == frame.tar_offset && frame_end <= end && cut_at_end) {
      // Both streams cut here, and the frame's bytes are the same: its cuts are ours.
      std::string id;
      std::string stored = earlier.stored(number, id);
      pool_.submit_made(stored, frame.decompressed, frame.sha256, std::move(id));
      ++spliced_frames_;
      spliced_bytes_ += frame.decompressed;
    } else {
      if (tar.empty()) tar = earlier.tar_bytes(number);
      const std::uint64_t stop = std::min(end, frame_end);
      // Up to the next cut only: from there the frame above may apply.
      at += feed_to_cut(tar.data() + (at - frame.tar_offset), stop - at);
      if (at < frame_end) continue;
    }
    at = frame_end;
    ++number;
    tar.clear();
  }
}

const SeekableIndex& FrameWriter::finish(std::vector<Member> members, std::uint64_t members_end) {
  if (!chunk_.empty()) pool_.submit(chunk_);
  pool_.flush();
  index_.members = std::move(members);
  index_.members_end = members_end;
  index_.tar_bytes = tar_offset_;
  // The index compresses well and is read whole: a higher level costs little.
  std::string frame = encode_index_frame(index_, std::max(level_, 9));
  index_.index_offset = file_offset_;
  index_.index_size = static_cast<std::uint32_t>(frame.size());
  index_.index_sha256 = util::sha256_hex(frame);
  sink_(frame.data(), frame.size());
  std::string table = encode_seek_table(index_.frames, index_.index_size);
  sink_(table.data(), table.size());
  return index_;
}

}  // namespace dockform::archive
