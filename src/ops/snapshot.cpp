#include "dockform/ops/snapshot.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "dockform/archive/spec_hash.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/ops/live.hpp"
#include "dockform/ops/snapshot_stream.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/util/version.hpp"
#include "dockform/volume/containers.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/staging.hpp"
#include "dockform/volume/tar_messages.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::ops {

using archive::Sidecar;
using archive::TarWalker;
using store::iso_timestamp;
using store::kDataExtension;
using store::snapshot_stem;
using volume::HelperContainer;
using volume::StoppedContainers;
using volume::VolumeLock;

namespace {
// Step "check": the volume exists; its spec goes into the sidecar.
Sidecar describe_volume(engine::Engine& engine, const SnapshotOptions& options) {
  auto volume = engine.volume_inspect(options.volume);
  if (!volume) {
    throw Error("volume " + options.volume + " not found in Docker context (create it with `dockform apply`)");
  }
  Sidecar sidecar;
  sidecar.dockform_version = version();
  sidecar.volume_name = options.volume;
  sidecar.driver = volume->driver;
  sidecar.driver_opts = volume->options;
  sidecar.labels = volume->labels;
  sidecar.spec_hash = archive::spec_hash(volume->driver, volume->options, volume->labels);
  sidecar.notes = options.note;
  return sidecar;
}

// Step "prepare": the snapshot folder exists, without a killed run's temporaries.
std::filesystem::path prepare_folder(const SnapshotOptions& options) {
  auto folder = store::volume_folder(options.base_dir, options.volume);
  util::create_private_dirs(folder);
  util::remove_stale_temporaries(folder);
  return folder;
}

// Step "prepare": stops the volume's running users when asked, else warns about them.
void quiesce(engine::Engine& engine, const SnapshotOptions& options, StoppedContainers& stopped) {
  auto users = volume::containers_using(engine, options.volume);
  stopped.recover_interrupted(options.stop_containers);
  if (options.stop_containers) {
    stopped.stop(users);
    return;
  }
  std::string running;
  for (const auto& user : users) {
    if (user.running()) running += (running.empty() ? "" : ", ") + user.name;
  }
  if (!running.empty()) {
    spdlog::warn("volume {} is in use by running container(s) {}: the snapshot may be inconsistent "
                 "(use --stop-containers)", options.volume, running);
  }
}

// Why the stream stopped short, and whether the helper had gone first.
struct Damage {
  std::string what;
  bool helper_ended_first = false;
};

// Walks the members (counting files) and drains the stream. On our side's
// failure (disk full, damaged stream) kills the helper and returns why.
std::optional<Damage> walk(TarWalker& walker, SnapshotStream& stream, HelperContainer& helper, Sidecar& sidecar) {
  try {
    while (auto entry = walker.next()) {
      // The helper checked for a killed restore's leftovers: a restore has started since.
      if (archive::is_reserved_root_name(archive::normalise_member_path(entry->path))) {
        throw Error("found " + entry->path + ": a restore of the volume started during the snapshot");
      }
      if (entry->counts_as_file()) ++sidecar.file_count;
    }
    stream.drain();
    return std::nullopt;
  } catch (const util::Interrupted&) {
    helper.kill();
    throw;
  } catch (const Error& e) {
    Damage damage{e.what(), stream.ended()};
    helper.kill();
    return damage;
  }
}

// Our own failure is the error to report, not the exit code of the helper we
// killed for it; the helper's exit code when it failed by itself.
// Returns the paths tar reported as changed while read (not an error).
std::vector<std::string> check_outcome(const SnapshotOptions& options, const std::optional<Damage>& damage,
                                       int exit_code, const std::string& errors) {
  auto verdict = volume::judge_tar_output(exit_code, errors, !damage);
  if (verdict.kind == volume::TarVerdict::Kind::retry) throw volume::TarStoppedByChange(verdict.reason);
  if (damage && damage->helper_ended_first) {
    // The stream stopped short because the helper went away (killed, or the engine stopped it).
    throw Error("the helper stopped before the volume's archive was complete (exit " + std::to_string(exit_code) +
                "): " + damage->what + (errors.empty() ? "" : "; helper: " + errors));
  }
  if (damage) {
    throw Error("snapshot of volume " + options.volume + " failed: " + damage->what +
                (errors.empty() ? "" : " (helper: " + errors + ")"));
  }
  if (verdict.kind == volume::TarVerdict::Kind::failed) {
    throw Error("the helper's tar failed (exit " + std::to_string(exit_code) + ")" +
                (errors.empty() ? "" : ": " + errors));
  }
  return verdict.changes;
}

// Step "stream": one pass from the helper's tar to the compressed, hashed temporary file.
// False when the helper found what a killed restore left, before any byte.
bool stream_volume(engine::Engine& engine, const SnapshotOptions& options, util::AtomicFile& file,
                   SnapshotResult& result) {
  auto& sidecar = result.sidecar;
  HelperContainer helper(engine, volume::archive_helper_spec(options.helper_image, options.volume));
  util::Progress progress("snapshot " + options.volume, std::nullopt);
  SnapshotStream stream(helper.attach_and_start(), file, options.level, progress);
  // An empty stream from a helper that found a killed restore's leftovers.
  auto first = stream.next_block();
  if (first.empty() && helper.wait() == volume::kArchiveLeftoverExit) return false;
  bool first_taken = false;
  TarWalker walker([&] {
    if (first_taken) return stream.next_block();
    first_taken = true;
    return first;
  });
  auto damage = walk(walker, stream, helper, sidecar);
  progress.finish();
  int exit_code = helper.wait();
  if (exit_code == volume::kArchiveLeftoverExit && stream.tar_bytes() == 0) return false;
  result.warnings = check_outcome(options, damage, exit_code, volume::trimmed(stream.helper_errors()));
  sidecar.checksum = stream.finish();
  sidecar.uncompressed_bytes = stream.tar_bytes();
  return true;
}

// A restore killed on this volume leaves staging, old content or a journal:
// archiving them would mix old and new. The archive helper looks first (no
// helper run of its own when the volume is clean); when it finds them, the
// restore is finished or undone under the lock, then the stream runs again.
void stream_recovered(engine::Engine& engine, const SnapshotOptions& options, const std::filesystem::path& folder,
                      std::optional<util::AtomicFile>& file, SnapshotResult& result) {
  file.emplace(folder);
  if (stream_volume(engine, options, *file, result)) return;
  volume::finish_interrupted_restore(engine, options.helper_image, options.volume);
  file.emplace(folder);
  if (!stream_volume(engine, options, *file, result)) {
    throw Error("volume " + options.volume + " still holds what an interrupted restore left after the recovery");
  }
}

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

// Step "publish": the data file under its final name, then its sidecar.
void publish(util::AtomicFile& file, const std::filesystem::path& folder, std::time_t start, SnapshotResult& result) {
  auto& sidecar = result.sidecar;
  result.compressed_bytes = file.bytes_written();
  file.finish();
  std::time_t named = claim_name(file, folder, start, sidecar.spec_hash);
  std::string stem = snapshot_stem(named, sidecar.spec_hash);
  result.data_file = folder / (stem + kDataExtension);
  result.sidecar_file = folder / (stem + ".json");
  sidecar.created_at = iso_timestamp(named);
  try {
    if (!util::write_new_file(folder, stem + ".json", archive::sidecar_text(sidecar))) {
      throw Error("sidecar " + result.sidecar_file.string() + " appeared while writing it");
    }
  } catch (...) {
    // A data file without its sidecar would look like a snapshot: take it back.
    std::filesystem::remove(result.data_file);
    throw;
  }
}

// One try: tar may stop at a file that changed under it (TarStoppedByChange).
SnapshotResult snapshot_once(engine::Engine& engine, const SnapshotOptions& options) {
  auto started_at = std::chrono::steady_clock::now();
  std::time_t start = std::time(nullptr);
  if (options.level < 1 || options.level > 19) throw Error("--level must be between 1 and 19", Exit::usage);
  SnapshotResult result;
  result.sidecar = describe_volume(engine, options);

  // A snapshot taken while a restore swaps content would mix old and new.
  VolumeLock::refuse_if_held(engine, options.volume);
  volume::remove_stale_helpers(engine);
  volume::ensure_helper_image(engine, options.helper_image);

  auto folder = prepare_folder(options);
  StoppedContainers stopped(engine, options.volume, options.helper_image);
  stopped.set_stop_timeout(options.stop_timeout);
  quiesce(engine, options, stopped);
  std::optional<util::AtomicFile> file;
  stream_recovered(engine, options, folder, file, result);
  result.containers_started = stopped.restart();
  result.containers_stopped = stopped.stopped_names();
  publish(*file, folder, start, result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();
  return result;
}
}  // namespace

SnapshotResult take_snapshot(engine::Engine& engine, const SnapshotOptions& options) {
  // Hooks around the whole snapshot; tries again when tar stopped at a change.
  return snapshot_with_hooks(engine, options, [&] { return snapshot_once(engine, options); });
}

}  // namespace dockform::ops
