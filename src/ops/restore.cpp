#include "dockform/ops/restore.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "dockform/archive/snapshot_file.hpp"
#include "dockform/archive/spec_hash.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/engine/demux.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/snapshot_source.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/volume/containers.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/staging.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::ops {

using archive::MemberSafety;
using archive::Sidecar;
using archive::SnapshotFormat;
using archive::SnapshotReader;
using archive::TarEntry;
using archive::TarWalker;
using archive::detect_format;
using archive::find_sidecar;
using archive::spec_hash;
using archive::uncompressed_size_hint;
using volume::HelperContainer;
using volume::HelperSpec;
using volume::Staging;
using volume::StoppedContainers;
using volume::VolumeLock;
using volume::containers_using;
using volume::ensure_helper_image;
using volume::extract_script;
using volume::kRestoreMountPoint;
using volume::prepare_volume;
using volume::remove_stale_helpers;
using volume::trimmed;

namespace {
using Clock = std::chrono::steady_clock;

// Sends the tar stream to the helper's stdin, but never past `limit`: the end
// of the data of the last member whose header passed the safety checks. The
// helper's tar therefore never sees a header that was not checked first.
class Forwarder {
 public:
  explicit Forwarder(engine::RawConnection& connection)
      : connection_(connection), demux_([this](engine::StreamType, std::string_view bytes) {
          if (output_.size() < 64 * 1024) output_.append(bytes);
        }) {}

  void push(std::string_view bytes) { pending_.append(bytes); }
  void allow_up_to(std::uint64_t offset) { limit_ = std::max(limit_, offset); }
  void allow_all() { limit_ = UINT64_MAX; }

  // Sends what is allowed, blocking until it is sent.
  void flush() {
    for (;;) {
      std::uint64_t target = std::min<std::uint64_t>(limit_, base_ + pending_.size());
      if (sent_ >= target) break;
      util::throw_if_interrupted();
      pollfd pfd{connection_.fd(), POLLIN | POLLOUT, 0};
      ::poll(&pfd, 1, 200);
      if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) read_output();
      if (helper_closed_) throw Error("the helper stopped reading the archive");
      if (pfd.revents & POLLOUT) {
        auto offset = static_cast<std::size_t>(sent_ - base_);
        sent_ += connection_.write_some(pending_.data() + offset, static_cast<std::size_t>(target - sent_));
      }
    }
    // Drop what was sent, in large steps to keep copying cheap.
    auto sent_here = static_cast<std::size_t>(sent_ - base_);
    if (sent_here > (4u << 20) || sent_here == pending_.size()) {
      pending_.erase(0, sent_here);
      base_ = sent_;
    }
  }

  // Closes the helper's stdin and reads its output to the end.
  void finish() {
    connection_.close_write();
    while (!helper_closed_) {
      util::throw_if_interrupted();
      pollfd pfd{connection_.fd(), POLLIN, 0};
      ::poll(&pfd, 1, 200);
      if (pfd.revents) read_output();
    }
  }

  std::string output() const { return trimmed(output_); }

 private:
  void read_output() {
    char buffer[16384];
    long n = connection_.read_some(buffer, sizeof buffer, std::chrono::milliseconds(0));
    if (n == 0) helper_closed_ = true;
    if (n > 0) demux_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }

  engine::RawConnection& connection_;
  engine::Demuxer demux_;
  std::string pending_;
  std::uint64_t base_ = 0;  // stream offset of pending_[0]
  std::uint64_t sent_ = 0;
  std::uint64_t limit_ = 0;
  std::string output_;
  bool helper_closed_ = false;
};

std::string names(const std::vector<engine::ContainerInfo>& containers) {
  std::string out;
  for (const auto& container : containers) {
    out += (out.empty() ? "" : ", ") + container.name + " (" + container.state + ")";
  }
  return out;
}

struct Checks {
  SnapshotFormat format;
  std::optional<std::filesystem::path> sidecar_file;
  std::optional<Sidecar> sidecar;
  std::optional<std::uint64_t> uncompressed_size;
};

Checks check_file(const RestoreOptions& options, archive::ByteSource& source, const engine::VolumeInfo& volume,
                  RestoreResult& result) {
  Checks checks;
  checks.format = detect_format(source);
  auto found = find_sidecar(source);
  if (found) {
    checks.sidecar_file = found->location;
    checks.sidecar = archive::parse_sidecar(found->text, found->location);
    if (checks.sidecar->volume_name != options.volume) {
      std::string text = "the snapshot was taken of volume " + checks.sidecar->volume_name + ", not " + options.volume;
      spdlog::warn("{}", text);
      result.warnings.push_back(text);
    }
    auto live_hash = spec_hash(volume.driver, volume.options, volume.labels);
    if (!checks.sidecar->spec_hash.empty() && checks.sidecar->spec_hash != live_hash) {
      std::string text = "spec hash differs: snapshot " + checks.sidecar->spec_hash + ", volume " + live_hash +
                         " (driver, options or labels changed since the snapshot)";
      spdlog::warn("{}", text);
      result.warnings.push_back(text);
    }
    if (checks.sidecar->uncompressed_bytes > 0) checks.uncompressed_size = checks.sidecar->uncompressed_bytes;
  } else {
    std::string text = "no sidecar beside " + options.snapshot.string() +
                       ": the checksum cannot be verified; the zstd frames and the tar structure still are";
    spdlog::warn("{}", text);
    result.warnings.push_back(text);
  }
  if (!checks.uncompressed_size) checks.uncompressed_size = uncompressed_size_hint(source, checks.format);
  return checks;
}
}  // namespace

RestoreResult restore_snapshot(engine::Engine& engine, const RestoreOptions& options) {
  auto started = Clock::now();
  RestoreResult result;
  result.volume = options.volume;
  result.snapshot = options.snapshot;

  // Checks first: nothing is stopped and no byte of the volume changes before they pass.
  if (!options.volume_declared) {
    throw Error("volume " + options.volume + " is not defined in manifest " + options.manifest_file +
                " (volumes must be declared to be restored)");
  }
  auto volume = engine.volume_inspect(options.volume);
  if (!volume) {
    throw Error("volume " + options.volume + " not found in Docker context (run `dockform apply` to create it)");
  }
  auto source = store::open_snapshot(options.snapshot.string());
  auto checks = check_file(options, *source, *volume, result);
  result.sidecar_file = checks.sidecar_file;

  remove_stale_helpers(engine);
  ensure_helper_image(engine, options.helper_image);
  VolumeLock lock(engine, options.helper_image, options.volume);
  auto state = prepare_volume(engine, options.helper_image, options.volume);
  for (const auto& line : state.recovered) spdlog::warn("volume {}: {}", options.volume, line);
  result.recovered = state.recovered;

  StoppedContainers stopped(engine, options.volume, options.helper_image);
  stopped.recover_interrupted(options.stop_containers);

  if (state.entries > 0 && !options.force) {
    throw Error("volume " + options.volume + " is not empty (" + std::to_string(state.entries) +
                    " entries at its root); use --force to replace its content",
                Exit::refused);
  }
  auto users = containers_using(engine, options.volume);
  if (!users.empty() && !options.stop_containers) {
    throw Error("containers are using volume " + options.volume + ": " + names(users) +
                    "; use --stop-containers to stop them for the restore and start them again",
                Exit::refused);
  }
  if (checks.uncompressed_size && *checks.uncompressed_size > state.free_bytes) {
    throw Error("not enough space to restore into volume " + options.volume + ": staging needs " +
                    util::human_bytes(*checks.uncompressed_size) + ", " + util::human_bytes(state.free_bytes) +
                    " free",
                Exit::refused);
  }

  // Extract into staging while the volume's users still run: the live content is not touched.
  Staging staging(engine, options.helper_image, options.volume);
  {
    HelperSpec spec;
    spec.image = options.helper_image;
    spec.volume = options.volume;
    spec.mount_point = kRestoreMountPoint;
    spec.read_only = false;
    spec.with_stdin = true;
    spec.script = extract_script(staging.id());
    spec.capabilities = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "MKNOD", "SETFCAP"};
    HelperContainer helper(engine, spec);
    Forwarder forwarder(helper.attach_and_start());
    util::Progress progress("restore " + options.volume, source->size());
    SnapshotReader reader(*source, checks.format, [&](std::uint64_t read) { progress.update(read); });
    MemberSafety safety;
    std::optional<std::uint64_t> last_member_end = 0;
    std::string failure;
    Exit failure_code = Exit::error;
    try {
      TarWalker walker([&] {
        auto block = reader.next_block();
        forwarder.push(block);
        forwarder.flush();
        return block;
      });
      auto inspect = [&](const TarEntry& entry, std::int64_t data_offset) {
        if (auto reason = safety.check(entry); !reason.empty()) {
          throw Error("unsafe member in snapshot: " + reason, Exit::refused);
        }
        // A sparse member's stored size is unknown here: its data goes out
        // once the next header has been checked.
        last_member_end = entry.data_end(data_offset);
        forwarder.allow_up_to(last_member_end.value_or(static_cast<std::uint64_t>(data_offset)));
      };
      while (auto entry = walker.next(inspect)) {
        if (entry->counts_as_file()) ++result.file_count;
      }
      // Trailing blocks after the end-of-archive marker are read (and hashed) too.
      forwarder.allow_all();
      for (auto block = reader.next_block(); !block.empty(); block = reader.next_block()) {
        forwarder.push(block);
        forwarder.flush();
      }
      forwarder.flush();
    } catch (const util::Interrupted&) {
      helper.kill();
      throw;
    } catch (const Error& e) {
      failure = e.what();
      failure_code = e.code();
      // What the helper said explains an early stop (e.g. "No space left on device").
      if (auto said = forwarder.output(); !said.empty()) failure += " (helper: " + said + ")";
      helper.kill();
    }
    progress.finish();
    if (!failure.empty()) {
      throw Error("restore from " + options.snapshot.string() + " failed: " + failure + "; the volume was not changed",
                  failure_code);
    }
    if (last_member_end && reader.tar_bytes() <= *last_member_end) {
      throw Error("snapshot " + options.snapshot.string() + " is truncated: the tar end-of-archive marker is missing",
                  Exit::refused);
    }
    forwarder.finish();
    int exit_code = helper.wait();
    if (exit_code != 0) {
      throw Error("the helper's tar failed while extracting (exit " + std::to_string(exit_code) + "): " +
                  forwarder.output());
    }
    result.bytes_read = reader.bytes_read();
    result.uncompressed_bytes = reader.tar_bytes();
    result.checksum = reader.checksum();
  }

  if (checks.sidecar) {
    if (result.checksum != checks.sidecar->checksum) {
      throw Error("checksum mismatch for " + options.snapshot.string() + ": sidecar says " + checks.sidecar->checksum +
                      ", the file has " + result.checksum + "; the volume was not changed",
                  Exit::refused);
    }
    result.checksum_verified = true;
    if (checks.sidecar->uncompressed_bytes != 0 && checks.sidecar->uncompressed_bytes != result.uncompressed_bytes) {
      result.warnings.push_back("the sidecar records " + std::to_string(checks.sidecar->uncompressed_bytes) +
                                " tar bytes, the archive holds " + std::to_string(result.uncompressed_bytes));
      spdlog::warn("{}", result.warnings.back());
    }
    if (checks.sidecar->file_count != 0 && checks.sidecar->file_count != result.file_count) {
      result.warnings.push_back("the sidecar records " + std::to_string(checks.sidecar->file_count) +
                                " files, the archive holds " + std::to_string(result.file_count));
      spdlog::warn("{}", result.warnings.back());
    }
  }

  // Only the swap needs the users stopped.
  auto stop_time = Clock::now();
  stopped.stop(users);
  staging.swap();
  result.containers_started = stopped.restart();
  result.containers_stopped = stopped.stopped_names();
  if (!result.containers_stopped.empty()) {
    result.downtime_seconds = std::chrono::duration<double>(Clock::now() - stop_time).count();
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

}  // namespace dockform::ops
