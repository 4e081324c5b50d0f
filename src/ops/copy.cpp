#include "dockform/ops/copy.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <thread>

#include "dockform/util/fd.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::ops {

namespace {
using Clock = std::chrono::steady_clock;

// The snapshot half, on a thread of its own, writing into the pipe. Its end
// closes the pipe (the restore then sees the stream's end); its result or
// failure is handed over through the promise.
class SnapshotHalf {
 public:
  SnapshotHalf(engine::Engine& source, const CopyOptions& options, util::Fd write_end,
               std::function<void(std::uint64_t)> on_estimate) {
    SnapshotOptions snapshot;
    snapshot.on_estimate = std::move(on_estimate);
    snapshot.volume = options.volume;
    snapshot.base = store::Location::stream();
    snapshot.stream_fd = write_end.get();
    snapshot.level = options.level;
    snapshot.stop_containers = options.stop_containers;
    snapshot.stop_timeout = options.stop_timeout;
    snapshot.helper_image = options.helper_image;
    result_ = promise_.get_future();
    thread_ = std::thread([this, &source, snapshot = std::move(snapshot), fd = std::move(write_end)]() mutable {
      util::Progress::silence_this_thread();
      try {
        auto result = take_snapshot(source, snapshot);
        fd.close();  // the end of the stream, before the result is handed over
        promise_.set_value(std::move(result));
      } catch (...) {
        fd.close();
        promise_.set_exception(std::current_exception());
      }
    });
  }
  // Joined whatever happens: the restore's failure closed the pipe's read
  // end, so a snapshot still writing gets EPIPE and unwinds (its stopped
  // containers started again).
  ~SnapshotHalf() {
    if (thread_.joinable()) thread_.join();
  }
  SnapshotHalf(const SnapshotHalf&) = delete;
  SnapshotHalf& operator=(const SnapshotHalf&) = delete;

  // Waits for the snapshot; rethrows its failure.
  SnapshotResult& result() {
    if (!done_) {
      snapshot_ = result_.get();
      done_ = true;
    }
    return snapshot_;
  }

 private:
  std::promise<SnapshotResult> promise_;
  std::future<SnapshotResult> result_;
  SnapshotResult snapshot_;
  bool done_ = false;
  std::thread thread_;
};

// A target volume that did not exist is made like the source's (driver,
// options, labels), and removed again when the copy fails.
class CreatedVolume {
 public:
  CreatedVolume(engine::Engine& target, const std::string& name, const engine::VolumeInfo& like) : target_(target) {
    if (target.volume_inspect(name)) return;
    target.volume_create(name, like.driver, like.options, like.labels);
    name_ = name;
    spdlog::info("created volume {} on the target engine (driver {}, as the source's)", name, like.driver);
  }
  ~CreatedVolume() {
    if (name_.empty() || kept_) return;
    try {
      target_.volume_remove(name_);
    } catch (const std::exception& e) {
      spdlog::warn("could not remove volume {} that the failed copy created: {}", name_, e.what());
    }
  }
  CreatedVolume(const CreatedVolume&) = delete;
  CreatedVolume& operator=(const CreatedVolume&) = delete;

  bool created() const { return !name_.empty(); }
  void keep() { kept_ = true; }

 private:
  engine::Engine& target_;
  std::string name_;
  bool kept_ = false;
};
}  // namespace

CopyResult copy_volume(engine::Engine& source, engine::Engine& target, const CopyOptions& options) {
  auto started = Clock::now();
  auto volume = source.volume_inspect(options.volume);
  if (!volume) throw Error("volume " + options.volume + " not found on the source engine");
  CreatedVolume created(target, options.target_volume, *volume);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error("cannot make a pipe for the copy");
  util::Fd read_end(fds[0]);
  util::Fd write_end(fds[1]);
  // 1 MiB instead of 64 KiB: the halves hand over in larger pieces and wake
  // each other less often. Best effort: the pipe works at any size.
  if (::fcntl(write_end.get(), F_SETPIPE_SZ, 1 << 20) < 0) spdlog::debug("the copy's pipe keeps its size");

  RestoreOptions restore;
  restore.volume = options.target_volume;
  restore.snapshot = store::Location::stream();
  restore.stream_fd = read_end.get();
  restore.force = options.force;
  restore.stop_containers = options.stop_containers;
  restore.stop_timeout = options.stop_timeout;
  restore.no_privileged_bits = options.no_privileged_bits;
  restore.helper_image = options.helper_image;

  // The source's estimate of the tar's size, for the progress line's ETA.
  std::atomic<std::uint64_t> estimate{0};
  restore.expected_tar_bytes = [&estimate] { return estimate.load(); };

  CopyResult result;
  {
    SnapshotHalf snapshot(source, options, std::move(write_end),
                          [&estimate](std::uint64_t bytes) { estimate = bytes; });
    restore.sidecar_after_stream = [&snapshot] { return snapshot.result().sidecar; };
    try {
      result.restore = restore_snapshot(target, restore);
    } catch (...) {
      read_end.close();  // a snapshot still writing stops (EPIPE) and cleans up
      throw;
    }
    result.snapshot = snapshot.result();
  }
  created.keep();
  result.created = created.created();
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

}  // namespace dockform::ops
