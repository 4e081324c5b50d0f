#include "dockform/ops/snapshot.hpp"
#include "live.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "dockform/archive/spec_hash.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/engine/demux.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/util/version.hpp"
#include "dockform/util/zstd_stream.hpp"
#include "dockform/volume/containers.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/staging.hpp"
#include "dockform/volume/tar_messages.hpp"
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
using volume::TarStoppedByChange;
using volume::TarVerdict;
using volume::judge_tar_output;
using volume::trimmed;

namespace {
constexpr const char* kMountPoint = "/volume";

// GNU tar keeps xattrs and ACLs. Any other tar (busybox) gets the portable
// flags. What either says about files that change while read is judged by
// volume::judge_tar_output.
constexpr const char* kSnapshotScript = R"sh(cd /volume || exit 111
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  exec tar --create --file=- --format=posix --pax-option=delete=atime,delete=ctime \
      --numeric-owner --acls --xattrs --xattrs-include='*' .
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
  SnapshotStream(engine::RawConnection& connection, util::AtomicFile& file, int level, util::Progress& progress)
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
    } else if (stderr_.size() < 8 * 1024 * 1024) {  // one line per changed path: keep them all
      stderr_.append(bytes);
    }
  }

  engine::RawConnection& connection_;
  util::AtomicFile& file_;
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

// Links the finished data file under the first free name, starting at the
// second the snapshot started: two snapshots started in the same second get
// consecutive seconds. A name whose sidecar exists is taken as well.
std::time_t claim_name(util::AtomicFile& file, const std::filesystem::path& folder, std::time_t start,
                       const std::string& spec_hash) {
  for (std::time_t t = start; t < start + 3600; ++t) {
    std::string stem = snapshot_stem(t, spec_hash);
    if (std::filesystem::exists(folder / (stem + ".json"))) continue;
    if (file.commit(stem + kDataExtension)) return t;
  }
  throw Error("no free snapshot name in " + folder.string() + " for an hour after " + iso_timestamp(start));
}

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

  auto folder = volume_folder(options.base_dir, options.volume);
  util::create_private_dirs(folder);
  util::remove_stale_temporaries(folder);

  auto users = containers_using(engine, options.volume);
  StoppedContainers stopped(engine, options.volume, options.helper_image);
  stopped.set_stop_timeout(options.stop_timeout);
  stopped.recover_interrupted(options.stop_containers);
  if (options.stop_containers) {
    stopped.stop(users);
  } else {
    warn_about_running_users(options.volume, users);
  }

  util::AtomicFile file(folder);
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
      helper_ended_first = stream.ended();
      helper.kill();
    }
    progress.finish();
    int exit_code = helper.wait();
    std::string errors = trimmed(stream.helper_errors());
    auto verdict = judge_tar_output(exit_code, errors, damage.empty());
    if (verdict.kind == TarVerdict::Kind::retry) throw TarStoppedByChange(verdict.reason);
    if (!damage.empty() && helper_ended_first) {
      // The stream stopped short because the helper went away (killed, or the engine stopped it).
      throw Error("the helper stopped before the volume's archive was complete (exit " + std::to_string(exit_code) +
                  "): " + damage + (errors.empty() ? "" : "; helper: " + errors));
    }
    if (!damage.empty()) {
      throw Error("snapshot of volume " + options.volume + " failed: " + damage +
                  (errors.empty() ? "" : " (helper: " + errors + ")"));
    }
    if (verdict.kind == TarVerdict::Kind::failed) {
      throw Error("the helper's tar failed (exit " + std::to_string(exit_code) + ")" +
                  (errors.empty() ? "" : ": " + errors));
    }
    result.warnings = verdict.changes;
    sidecar.checksum = stream.finish();
    sidecar.uncompressed_bytes = stream.tar_bytes();
  }
  result.containers_started = stopped.restart();
  result.containers_stopped = stopped.stopped_names();
  result.compressed_bytes = file.bytes_written();

  file.finish();
  std::time_t named = claim_name(file, folder, start, sidecar.spec_hash);
  std::string stem = snapshot_stem(named, sidecar.spec_hash);
  result.data_file = folder / (stem + kDataExtension);
  result.sidecar_file = folder / (stem + ".json");
  sidecar.created_at = iso_timestamp(named);
  try {
    if (!util::write_new_file(folder, stem + ".json", sidecar_text(sidecar))) {
      throw Error("sidecar " + result.sidecar_file.string() + " appeared while writing it");
    }
  } catch (...) {
    // A data file without its sidecar would look like a snapshot: take it back.
    std::filesystem::remove(result.data_file);
    throw;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();
  return result;
}

SnapshotResult snapshot_finishing_restores(engine::Engine& engine, const SnapshotOptions& options) {
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

}  // namespace

SnapshotResult take_snapshot(engine::Engine& engine, const SnapshotOptions& options) {
  // Hooks around the whole snapshot; tries again when tar stopped at a change.
  return snapshot_with_hooks(engine, options, [&] { return snapshot_finishing_restores(engine, options); });
}

}  // namespace dockform::ops
