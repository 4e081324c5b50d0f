#include "dockform/ops/restore.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "dockform/archive/checked_walk.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/archive/spec_hash.hpp"
#include "dockform/ops/browse.hpp"
#include "dockform/ops/forwarder.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/util/subtree.hpp"
#include "dockform/volume/containers.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/helper_messages.hpp"
#include "dockform/volume/read_lease.hpp"
#include "dockform/volume/restore_helper.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::ops {

using archive::OnUnsafe;
using archive::Sidecar;
using archive::SnapshotFormat;
using archive::SnapshotReader;
using archive::stored_checksum_of;
using archive::WalkSummary;
using volume::RestoreHelper;
using volume::StoppedContainers;
using volume::VolumeLock;

namespace {
using Clock = std::chrono::steady_clock;

void warn(RestoreResult& result, std::string text) {
  spdlog::warn("{}", text);
  result.warnings.push_back(std::move(text));
}

std::string names(const std::vector<engine::ContainerInfo>& containers) {
  std::string out;
  for (const auto& container : containers) {
    out += (out.empty() ? "" : ", ") + container.name + " (" + container.state + ")";
  }
  return out;
}

// What the checks learnt about the snapshot file.
struct Checks {
  SnapshotFormat format;
  std::optional<Sidecar> sidecar;
  std::optional<std::uint64_t> uncompressed_size;
};

engine::VolumeInfo inspect_volume(engine::Engine& engine, const std::string& name) {
  auto volume = engine.volume_inspect(name);
  if (!volume)
    throw Error("volume " + name + " not found in the engine (the manifest declares it: `dockform apply` creates it)");
  return *volume;
}

// An encrypted snapshot needs an identity that opens it: checked on its
// header before anything else happens. A key given for a plain one is no error.
void check_keys(const RestoreOptions& options, archive::ByteSource& source, SnapshotFormat format,
                RestoreResult& result) {
  result.encrypted = format == SnapshotFormat::tar_zst_age;
  if (!result.encrypted) {
    // A snapshot of an encrypted repository opens with the identity.
    if (!options.identities.empty() && !store::repository_ref(options.snapshot)) {
      warn(result, "snapshot " + options.snapshot.text() + " is not encrypted: the identity is not needed");
    }
    return;
  }
  if (options.identities.empty()) {
    throw Error("snapshot " + options.snapshot.text() +
                    " is encrypted (age): give its key with --identity FILE or its passphrase with "
                    "--passphrase-file FILE",
                Exit::usage);
  }
  try {
    archive::check_age_header(source, options.identities);
  } catch (const crypto::age::AgeError& e) {
    throw Error("cannot decrypt snapshot " + options.snapshot.text() + ": " + e.what() + "; the volume was not changed",
                e.code());
  }
}

// Step "check": the file's format, its sidecar, and the sidecar against the live volume.
// The source is a local file or an object in a bucket: the same checks either way.
Checks check_file(const RestoreOptions& options, archive::ByteSource& source, const engine::VolumeInfo& volume,
                  RestoreResult& result) {
  Checks checks;
  checks.format = archive::detect_format(source);
  check_keys(options, source, checks.format, result);
  auto found = archive::find_sidecar(source);
  if (!found) {
    if (options.sidecar_after_stream) return checks;  // it comes with the stream's end
    warn(result, (options.snapshot.is_stream() ? std::string("no --sidecar for standard input")
                                               : "no sidecar beside " + options.snapshot.text()) +
                     ": the checksum and the counts cannot be verified; the zstd frames (and age's chunks), the "
                     "tar structure and the safety rules still are");
    checks.uncompressed_size = archive::uncompressed_size_hint(source, checks.format);
    return checks;
  }
  result.sidecar_file = found->location;
  const auto& sidecar = checks.sidecar.emplace(archive::parse_sidecar(found->text, found->location));
  if (sidecar.volume_name != options.volume) {
    warn(result, "the snapshot was taken of volume " + sidecar.volume_name + ", not " + options.volume);
  }
  auto live_hash = archive::spec_hash(volume.driver, volume.options, volume.labels);
  if (!sidecar.spec_hash.empty() && sidecar.spec_hash != live_hash) {
    warn(result, "spec hash differs: snapshot " + sidecar.spec_hash + ", volume " + live_hash +
                     " (driver, options or labels changed since the snapshot)");
  }
  checks.uncompressed_size = sidecar.uncompressed_bytes > 0 ? std::optional<std::uint64_t>(sidecar.uncompressed_bytes)
                                                            : archive::uncompressed_size_hint(source, checks.format);
  return checks;
}

// Which of a partial restore's paths the snapshot holds.
class PathsFound {
 public:
  explicit PathsFound(const std::vector<std::string>& paths) : paths_(paths), found_(paths.size(), false) {}
  // Adds `member`'s size to the bytes below the paths.
  void see(const std::string& member, std::int64_t size) {
    auto path = subtree::normalise(member);
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if (!subtree::is_at_or_below(path, paths_[i])) continue;
      found_[i] = true;
      bytes_ += size > 0 ? static_cast<std::uint64_t>(size) : 0;
      return;
    }
  }
  std::uint64_t bytes() const { return bytes_; }
  // Throws Error (Exit::usage) naming the first path without a member.
  void require_all(const std::string& snapshot) const {
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if (!found_[i]) {
        throw Error("--path " + paths_[i] + " is not in snapshot " + snapshot + "; the volume was not changed",
                    Exit::usage);
      }
    }
  }

 private:
  const std::vector<std::string>& paths_;
  std::vector<bool> found_;
  std::uint64_t bytes_ = 0;
};

// --path: the whole snapshot's size says nothing of what the paths need.
// A seekable snapshot's index (checked against the sidecar; decrypted for
// .tar.zst.age) tells, and whether each path is in it, before the lock, the
// helper or any user is touched; for the others the walk of the stream
// tells, still before the swap.
void check_paths(const RestoreOptions& options, Checks& checks) {
  if (options.paths.empty()) return;
  checks.uncompressed_size.reset();
  if (options.snapshot.is_stream()) return;
  auto seekable = open_seekable(options.snapshot, options.identities, {}, checks.sidecar);
  if (!seekable) return;
  PathsFound found(options.paths);
  for (const auto& member : seekable->index.members) found.see(member.path, member.size);
  found.require_all(options.snapshot.text());
  checks.uncompressed_size = found.bytes();
  spdlog::debug("restore --path: every path is in the snapshot's index ({} bytes below them)", found.bytes());
}

// Step "prepare" (under the lock): the helper finishes what an interrupted
// restore left, then looks at the volume.
volume::VolumeState prepare(RestoreHelper& helper, const RestoreOptions& options, RestoreResult& result) {
  auto state = helper.start();
  for (const auto& line : state.recovered) spdlog::warn("volume {}: {}", options.volume, line);
  result.recovered = state.recovered;
  return state;
}

// Step "check", on the volume: refusals that need its state. Returns its users.
std::vector<engine::ContainerInfo> refuse_unless_ready(engine::Engine& engine, const RestoreOptions& options,
                                                       const volume::VolumeState& state, const Checks& checks) {
  // A partial restore replaces what the user named: no --force needed.
  if (state.entries > 0 && !options.force && options.paths.empty()) {
    throw Error("volume " + options.volume + " is not empty (" + std::to_string(state.entries) +
                    " entries at its root); use --force to replace its content",
                Exit::refused);
  }
  auto users = volume::containers_using(engine, options.volume);
  if (!users.empty() && !options.stop_containers) {
    throw Error("containers are using volume " + options.volume + ": " + names(users) +
                    "; use --stop-containers to stop them for the restore and start them again",
                Exit::refused);
  }
  if (checks.uncompressed_size && *checks.uncompressed_size > state.free_bytes) {
    throw Error("not enough space to restore into volume " + options.volume + ": staging needs " +
                    util::human_bytes(*checks.uncompressed_size) + ", " + util::human_bytes(state.free_bytes) + " free",
                Exit::refused);
  }
  return users;
}

// Sends the snapshot through the checked walk to the extracting helper.
// Returns why it stopped early (the helper is killed then), or nothing.
std::optional<Error> feed(SnapshotReader& reader, Forwarder& forwarder, RestoreHelper& helper, WalkSummary& walk,
                          const std::optional<Sidecar>& sidecar, PathsFound& found) {
  try {
    auto source = [&] {
      auto block = reader.next_block();
      forwarder.push(block);
      forwarder.flush();
      return block;
    };
    archive::checked_walk(
        source, OnUnsafe::refuse, walk, [&](std::uint64_t offset) { forwarder.allow_up_to(offset); },
        [&](const archive::TarEntry& entry, std::uint64_t, std::uint64_t) { found.see(entry.path, entry.size); });
    forwarder.flush();
    return std::nullopt;
  } catch (const util::Interrupted&) {
    helper.stop_extraction();
    throw;
  } catch (const Error& e) {
    std::string failure = e.what();
    auto code = e.code();
    // Damage that the sidecar's checksum also sees is named by it, whichever layer noticed it first.
    // A storage failure is no damage: the rest of the object cannot be read anyway.
    bool storage = dynamic_cast<const store::StorageError*>(&e) != nullptr;
    // age authenticates every chunk: its failure is damage (or a cut file) even without a sidecar.
    if (dynamic_cast<const crypto::age::AgeError*>(&e) != nullptr) code = Exit::refused;
    if (auto mismatch =
            sidecar && !storage ? archive::checksum_mismatch(reader, stored_checksum_of(*sidecar, reader)) : "";
        !mismatch.empty()) {
      failure = mismatch + " (first noticed as: " + failure + ")";
      code = Exit::refused;
    }
    // What the helper said explains an early stop (e.g. "No space left on device").
    if (auto said = forwarder.report().error_text(); !said.empty()) {
      failure += " (helper: " + said + ")";
    }
    helper.stop_extraction();
    return Error(failure, code);
  }
}

// The restore's helper, with the local channel's folder mounted when the
// engine takes it (Podman refuses a bind mount of a folder it cannot see).
std::unique_ptr<RestoreHelper> make_helper(engine::Engine& engine, const volume::HelperImage& image,
                                           const RestoreOptions& options,
                                           std::optional<volume::LocalChannel>& channel) {
  const auto& volume = options.volume;
  if (channel) {
    try {
      return std::make_unique<RestoreHelper>(engine, image, volume, &*channel, options.paths);
    } catch (const engine::EngineError& e) {
      spdlog::debug("transport: attach (the engine refused the local channel's folder: {})", e.what());
      channel.reset();
    }
  }
  return std::make_unique<RestoreHelper>(engine, image, volume, nullptr, options.paths);
}

// Step "stream": extracts into staging while the volume's users still run;
// the live content is not touched.
WalkSummary extract(const RestoreOptions& options, archive::ByteSource& source, const Checks& checks,
                    RestoreHelper& helper, RestoreResult& result) {
  auto& connection = helper.start_extraction(options.no_privileged_bits);
  Forwarder forwarder(connection, helper.data_channel());
  util::Progress progress("restore " + options.volume, source.size());
  std::unique_ptr<SnapshotReader> opened;
  auto on_read = [&](std::uint64_t read) {
    if (!options.expected_tar_bytes) return progress.update(read);
    // A copy: tar bytes against the source's estimate (the stream itself may be compressed).
    if (auto total = options.expected_tar_bytes(); total > 0) progress.set_total(total);
    progress.update(opened ? opened->tar_bytes() : 0);
  };
  opened = archive::open_reader(source, checks.format, options.identities, on_read);
  auto& reader = *opened;
  WalkSummary walk;
  PathsFound found(options.paths);
  auto failure = feed(reader, forwarder, helper, walk, checks.sidecar, found);
  progress.finish();
  if (failure) {
    throw Error(
        "restore from " + options.snapshot.text() + " failed: " + failure->what() + "; the volume was not changed",
        failure->code());
  }
  if (walk.truncated) {
    throw Error("snapshot " + options.snapshot.text() + " is truncated: the tar end-of-archive marker is missing",
                Exit::refused);
  }
  forwarder.finish();
  auto report = forwarder.report();
  if (int exit_code = helper.extraction_exit_code(); exit_code != 0 || !report.errors.empty()) {
    throw Error("the helper could not extract the snapshot (exit " + std::to_string(exit_code) +
                "): " + report.error_text() + "; the volume was not changed");
  }
  found.require_all(options.snapshot.text());
  // E.g. a device node the engine does not let the helper create.
  for (auto& text : report.warnings) warn(result, std::move(text));
  result.bytes_read = reader.bytes_read();
  result.uncompressed_bytes = reader.tar_bytes();
  result.checksum = reader.checksum();
  result.file_count = walk.file_count;
  if (reader.encrypted()) result.stored_checksum = reader.stored_checksum();
  return walk;
}

// Step "verify": the bytes read against the sidecar, before anything is live.
void verify(const RestoreOptions& options, const Checks& checks, const WalkSummary& walk, RestoreResult& result) {
  if (!checks.sidecar) return;
  auto mismatch = archive::compare_with_sidecar(*checks.sidecar, result.checksum, walk);
  if (mismatch.checksum) {
    throw Error("snapshot " + options.snapshot.text() + ": " + *mismatch.checksum + "; the volume was not changed",
                Exit::refused);
  }
  result.checksum_verified = true;
  for (auto& text : mismatch.counts) warn(result, std::move(text));
  // The content is the snapshot's (age authenticated it, the checksum matched): a file encrypted again since,
  // e.g. to new keys, differs only in its stored bytes.
  const auto& encryption = checks.sidecar->encryption;
  if (result.encrypted && encryption && encryption->stored_sha256 != result.stored_checksum) {
    warn(result, "snapshot " + options.snapshot.text() +
                     " was encrypted again since the snapshot (its stored bytes differ from the sidecar's "
                     "checksum.tar_zst_age); its content matches the sidecar");
  }
}

// After a failed swap: first finished or undone, then the users started,
// never on a half-swapped root. When that cannot be done they stay stopped.
// Returns what happened, in words.
std::string settle(StoppedContainers& stopped, RestoreHelper& helper, const std::string& volume) {
  try {
    auto outcome = helper.settle_failed_swap();
    stopped.restart();
    return outcome;
  } catch (const std::exception& e) {
    stopped.leave_stopped();
    std::string text = "the swap could not be finished (" + std::string(e.what()) + ")";
    if (!stopped.stopped_names().empty()) {
      std::string list;
      for (const auto& name : stopped.stopped_names()) list += (list.empty() ? "" : ", ") + name;
      text += "; containers " + list + " stay stopped until `dockform volume restore " + volume +
              " --stop-containers` finishes it and starts them";
    }
    return text;
  }
}

// Step "swap": only this needs the users stopped.
void swap_in(StoppedContainers& stopped, const std::vector<engine::ContainerInfo>& users, RestoreHelper& helper,
             const std::string& volume, RestoreResult& result) {
  auto stop_time = Clock::now();
  stopped.stop(users);
  try {
    helper.swap();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "; " + settle(stopped, helper, volume), e.code());
  } catch (...) {  // a signal: what was done goes to the log
    spdlog::warn("volume {}: {}", volume, settle(stopped, helper, volume));
    throw;
  }
  result.containers_started = stopped.restart();
  result.containers_stopped = stopped.stopped_names();
  if (!result.containers_stopped.empty()) {
    result.downtime_seconds = std::chrono::duration<double>(Clock::now() - stop_time).count();
  }
  // The old content goes while the users run again.
  helper.finish_swap();
}
}  // namespace

RestoreResult restore_snapshot(engine::Engine& engine, const RestoreOptions& options) {
  auto started = Clock::now();
  RestoreResult result;
  result.volume = options.volume;
  result.snapshot = options.snapshot.text();
  result.paths = options.paths;
  // Checks first: nothing is stopped and no byte of the volume changes before they pass.
  auto source = store::open_snapshot(options.snapshot, options.sidecar_file, options.stream_fd);
  std::optional<Checks> checks;
  auto live = inspect_volume(engine, options.volume);
  // A copy's stream starts while the target gets ready (lock, helper): its
  // checks wait for the stream's first bytes, and still come before the
  // extraction and before any user is stopped.
  if (!options.sidecar_after_stream) {
    checks = check_file(options, *source, live, result);
    check_paths(options, *checks);
  }
  volume::remove_stale_helpers(engine);
  auto image = volume::resolve_helper_image(engine, options.helper_image);

  VolumeLock lock(engine, image, options.volume);
  // A snapshot reading the volume would archive a mix of old and new.
  volume::refuse_if_read(engine, options.volume);
  // One helper for the rest: recovery, the state, extraction, the swap.
  auto channel = volume::LocalChannel::open_for(engine.endpoint());
  auto made = make_helper(engine, image, options, channel);
  auto& helper = *made;
  auto state = prepare(helper, options, result);
  StoppedContainers stopped(engine, options.volume, image);
  stopped.set_stop_timeout(options.stop_timeout);
  stopped.recover_interrupted(options.stop_containers);
  if (!checks) checks = check_file(options, *source, live, result);
  auto users = refuse_unless_ready(engine, options, state, *checks);

  auto walk = extract(options, *source, *checks, helper, result);
  // Durable while the users still run: the swap's own flush is then short.
  helper.flush();
  if (options.sidecar_after_stream) checks->sidecar = options.sidecar_after_stream();
  verify(options, *checks, walk, result);
  // The last point where stopping leaves the volume as it was: a signal
  // during the (uninterruptible) flush ends the run here, not after the swap.
  util::throw_if_interrupted();
  lock.ensure_held();  // a lock lost meanwhile may have a new holder: do not swap under it
  swap_in(stopped, users, helper, options.volume, result);
  if (int signal = util::pending_signal(); signal != 0) {
    warn(result, util::signal_name(signal) + " came during the swap: the restore was committed and finished");
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

std::vector<std::string> restore_paths(const std::vector<std::string>& given) {
  std::vector<std::string> paths;
  for (const auto& path : given) {
    auto normal = subtree::normalise(path);
    if (auto problem = subtree::restore_path_problem(normal); !problem.empty()) {
      throw Error("--path " + path + ": " + problem, Exit::usage);
    }
    paths.push_back(std::move(normal));
  }
  return subtree::outermost(std::move(paths));
}

}  // namespace dockform::ops
