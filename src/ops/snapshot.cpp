#include "dockform/ops/snapshot.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "dockform/archive/spec_hash.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/engine/demux.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/snapshot_sink.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/util/version.hpp"
#include "dockform/util/zstd_stream.hpp"
#include "dockform/volume/containers.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/staging.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::ops {

using archive::Sidecar;
using archive::TarWalker;
using archive::is_reserved_root_name;
using archive::normalise_member_path;
using archive::sidecar_text;
using archive::spec_hash;
using store::iso_timestamp;
using store::kDataExtension;
using store::snapshot_stem;
using store::volume_folder;
using volume::HelperContainer;
using volume::HelperSpec;
using volume::StoppedContainers;
using volume::VolumeLock;
using volume::containers_using;
using volume::ensure_helper_image;
using volume::prepare_volume;
using volume::remove_stale_helpers;
using volume::trimmed;

namespace {
constexpr const char* kMountPoint = "/volume";

// GNU tar keeps xattrs and ACLs; its exit code 1 only means a file changed
// while it was read (the volume is in use), which we report as a warning.
// Any other tar (busybox) gets the portable flags.
constexpr const char* kSnapshotScript = R"sh(cd /volume || exit 111
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  tar --create --file=- --format=posix --pax-option=delete=atime,delete=ctime \
      --numeric-owner --acls --xattrs --xattrs-include='*' .
  rc=$?
  if [ "$rc" -eq 1 ]; then echo 'warning: some files changed while they were read' >&2; exit 0; fi
  exit $rc
fi
exec tar -cf - .
)sh";

int compression_threads() {
  unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(cores == 0 ? 2 : std::min(cores, 8u));
}

// Pulls the helper's tar stream off the attach connection and, in the same
// pass, compresses, hashes and writes it. The tar parser pulls from here.
class SnapshotStream {
 public:
  SnapshotStream(engine::RawConnection& connection, store::SnapshotSink& file, int level, util::Progress& progress)
      : connection_(connection),
        file_(file),
        progress_(progress),
        demux_([this](engine::StreamType type, std::string_view bytes) { on_frame(type, bytes); }),
        zstd_(level, compression_threads(), [this](const char* data, std::size_t size) {
          sha_.update(data, size);
          file_.write(data, size);
        }),
        buffer_(256 * 1024) {}

  std::string_view next_block() {
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
    zstd_.write(block_.data(), block_.size());
    progress_.update(tar_bytes_, file_.bytes_written());
    return block_;
  }

  void drain() {
    while (!next_block().empty()) {
    }
  }

  // Ends the zstd frame; returns the hex SHA-256 of every byte written.
  std::string finish() {
    zstd_.finish();
    return sha_.hex_digest();
  }

  std::uint64_t tar_bytes() const { return tar_bytes_; }
  // The helper's output has ended (it exited, or was killed).
  bool ended() const { return ended_; }
  const std::string& helper_errors() const { return stderr_; }

 private:
  void on_frame(engine::StreamType type, std::string_view bytes) {
    if (type == engine::StreamType::stdout_) {
      block_.append(bytes);
    } else if (stderr_.size() < 64 * 1024) {
      stderr_.append(bytes);
    }
  }

  engine::RawConnection& connection_;
  store::SnapshotSink& file_;
  util::Progress& progress_;
  engine::Demuxer demux_;
  util::Sha256 sha_;
  util::ZstdCompressor zstd_;
  std::vector<char> buffer_;
  std::string block_;
  std::string stderr_;
  std::uint64_t tar_bytes_ = 0;
  bool ended_ = false;
};

void warn_about_running_users(const std::string& volume, const std::vector<engine::ContainerInfo>& users) {
  std::string running;
  for (const auto& user : users) {
    if (user.running()) running += (running.empty() ? "" : ", ") + user.name;
  }
  if (!running.empty()) {
    spdlog::warn("volume {} is in use by running container(s) {}: the snapshot may be inconsistent "
                 "(use --stop-containers)", volume, running);
  }
}
}  // namespace

namespace {
// The volume holds what an interrupted restore left at its root.
class LeftoverFound : public Error {
 public:
  explicit LeftoverFound(const std::string& path) : Error("found " + path + " left by an interrupted restore") {}
};

SnapshotResult snapshot_once(engine::Engine& engine, const SnapshotOptions& options) {
  auto started_at = std::chrono::steady_clock::now();
  std::time_t start = std::time(nullptr);
  if (options.level < 1 || options.level > 19) throw Error("--level must be between 1 and 19", Exit::usage);

  auto volume = engine.volume_inspect(options.volume);
  if (!volume) {
    throw Error("volume " + options.volume + " not found in Docker context (create it with `dockform apply`)");
  }
  SnapshotResult result;
  Sidecar& sidecar = result.sidecar;
  sidecar.dockform_version = version();
  sidecar.volume_name = options.volume;
  sidecar.driver = volume->driver;
  sidecar.driver_opts = volume->options;
  sidecar.labels = volume->labels;
  sidecar.spec_hash = spec_hash(volume->driver, volume->options, volume->labels);
  sidecar.notes = options.note;

  // A snapshot taken while a restore swaps content would mix old and new.
  VolumeLock::refuse_if_held(engine, options.volume);
  remove_stale_helpers(engine);
  ensure_helper_image(engine, options.helper_image);

  // A folder, or s3://BUCKET[/PREFIX]: checked before any container is stopped.
  auto sink = store::open_sink(options.base_dir.string(), options.volume, start, sidecar.spec_hash);
  auto& file = *sink;

  auto users = containers_using(engine, options.volume);
  StoppedContainers stopped(engine, options.volume, options.helper_image);
  stopped.recover_interrupted(options.stop_containers);
  if (options.stop_containers) {
    stopped.stop(users);
  } else {
    warn_about_running_users(options.volume, users);
  }

  {
    HelperSpec spec;
    spec.image = options.helper_image;
    spec.volume = options.volume;
    spec.mount_point = kMountPoint;
    spec.read_only = true;
    spec.script = kSnapshotScript;
    // Root must read files whatever their modes; nothing else is needed.
    spec.capabilities = {"DAC_READ_SEARCH", "DAC_OVERRIDE"};
    HelperContainer helper(engine, spec);
    util::Progress progress("snapshot " + options.volume, std::nullopt);
    SnapshotStream stream(helper.attach_and_start(), file, options.level, progress);
    TarWalker walker([&stream] { return stream.next_block(); });
    std::string damage;
    Exit damage_code = Exit::error;
    bool helper_ended_first = false;
    try {
      while (auto entry = walker.next()) {
        if (is_reserved_root_name(normalise_member_path(entry->path))) throw LeftoverFound(entry->path);
        if (entry->counts_as_file()) ++sidecar.file_count;
      }
      stream.drain();
    } catch (const util::Interrupted&) {
      helper.kill();
      throw;
    } catch (const LeftoverFound&) {
      helper.kill();
      throw;
    } catch (const Error& e) {
      // Our side failed (disk full, damaged stream): that is the error to
      // report, not the exit code of the helper we kill for it.
      damage = e.what();
      damage_code = e.code();  // e.g. the object storage failed
      helper_ended_first = stream.ended();
      helper.kill();
    }
    progress.finish();
    int exit_code = helper.wait();
    std::string errors = trimmed(stream.helper_errors());
    if (!damage.empty() && helper_ended_first) {
      // The stream stopped short because the helper went away (killed, or the engine stopped it).
      throw Error("the helper stopped before the volume's archive was complete (exit " + std::to_string(exit_code) +
                  "): " + damage + (errors.empty() ? "" : "; helper: " + errors));
    }
    if (!damage.empty()) {
      throw Error("snapshot of volume " + options.volume + " failed: " + damage +
                  (errors.empty() ? "" : " (helper: " + errors + ")"), damage_code);
    }
    if (exit_code != 0) {
      throw Error("the helper's tar failed (exit " + std::to_string(exit_code) + ")" +
                  (errors.empty() ? "" : ": " + errors));
    }
    if (!errors.empty()) spdlog::warn("helper: {}", errors);
    sidecar.checksum = stream.finish();
    sidecar.uncompressed_bytes = stream.tar_bytes();
  }
  result.containers_started = stopped.restart();
  result.containers_stopped = stopped.stopped_names();
  result.compressed_bytes = file.bytes_written();

  std::time_t named = file.commit();
  std::string stem = snapshot_stem(named, sidecar.spec_hash);
  result.data_file = file.location(stem + kDataExtension);
  result.sidecar_file = file.location(stem + ".json");
  sidecar.created_at = iso_timestamp(named);
  try {
    file.write_sidecar(stem, sidecar_text(sidecar));
  } catch (...) {
    // A data file without its sidecar would look like a snapshot: take it back.
    file.remove_data(stem);
    throw;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();
  return result;
}

}  // namespace

SnapshotResult take_snapshot(engine::Engine& engine, const SnapshotOptions& options) {
  try {
    return snapshot_once(engine, options);
  } catch (const LeftoverFound& found) {
    // Archiving a half-finished restore would preserve a mix: finish it first
    // (under the restore lock, so a live restore is never disturbed), then retry.
    spdlog::warn("volume {}: {}; finishing that restore before the snapshot", options.volume, found.what());
    {
      VolumeLock lock(engine, options.helper_image, options.volume);
      auto state = prepare_volume(engine, options.helper_image, options.volume);
      for (const auto& line : state.recovered) spdlog::warn("volume {}: {}", options.volume, line);
    }
    return snapshot_once(engine, options);
  }
}

}  // namespace dockform::ops
