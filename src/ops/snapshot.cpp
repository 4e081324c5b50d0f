#include "dockform/ops/snapshot.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

#include "dockform/archive/spec_hash.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/crypto/primitives.hpp"
#include "dockform/ops/live.hpp"
#include "dockform/ops/snapshot_stream.hpp"
#include "dockform/store/catalog.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/snapshot_sink.hpp"
#include "dockform/store/store.hpp"
#include "dockform/store/stream/stream.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/util/version.hpp"
#include "dockform/volume/containers.hpp"
#include "dockform/volume/files_cache.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/helper_messages.hpp"
#include "dockform/volume/local_channel.hpp"
#include "dockform/volume/read_lease.hpp"
#include "dockform/volume/staging.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::ops {

using archive::Sidecar;
using archive::TarWalker;
using store::iso_timestamp;
using store::snapshot_stem;
using volume::HelperContainer;
using volume::StoppedContainers;
using volume::VolumeLock;

namespace {
// The public side of the recipients, for the sidecar.
archive::Encryption encryption_of(const std::vector<crypto::age::Recipient>& recipients) {
  archive::Encryption encryption;
  for (const auto& recipient : recipients) {
    if (const auto* key = std::get_if<crypto::age::X25519Recipient>(&recipient)) {
      encryption.recipients.push_back(crypto::age::encode_recipient(*key));
    } else {
      encryption.passphrase = true;
    }
  }
  return encryption;
}

// Step "check": the volume exists; its spec goes into the sidecar.
Sidecar describe_volume(engine::Engine& engine, const SnapshotOptions& options) {
  auto volume = engine.volume_inspect(options.volume);
  if (!volume) {
    std::string hint;
    if (options.declared) {
      hint = *options.declared
                 ? " (the manifest declares it: `dockform apply` creates it)"
                 : ", and the manifest does not declare it (`dockform apply` creates declared volumes only)";
    }
    throw Error("volume " + options.volume + " not found in the engine" + hint);
  }
  Sidecar sidecar;
  sidecar.dockform_version = version();
  sidecar.volume_name = options.volume;
  sidecar.driver = volume->driver;
  sidecar.driver_opts = volume->options;
  sidecar.labels = volume->labels;
  sidecar.spec_hash = archive::spec_hash(volume->driver, volume->options, volume->labels);
  sidecar.notes = options.note;
  sidecar.excludes = options.excludes;
  if (!options.recipients.empty()) sidecar.encryption = encryption_of(options.recipients);
  return sidecar;
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
    spdlog::warn(
        "volume {} is in use by running container(s) {}: the snapshot may be inconsistent "
        "(use --stop-containers)",
        options.volume, running);
  }
}

// Why the stream stopped short, and whether the helper had gone first.
struct Damage {
  std::string what;
  bool helper_ended_first = false;
  Exit code = Exit::error;  // e.g. the object storage failed
};

// Walks the members (counting files) and drains the stream. On our side's
// failure (disk full, damaged stream) kills the helper and returns why.
std::optional<Damage> walk(TarWalker& walker, SnapshotStream& stream, HelperContainer& helper, Sidecar& sidecar) {
  try {
    // A member's headers start where the previous member's data ended.
    std::uint64_t header = 0;
    std::int64_t data = 0;
    std::optional<std::uint64_t> spliced;  // the entry was a marker: the files it stood for
    auto inspect = [&](const archive::TarEntry& entry, std::int64_t offset) {
      data = offset;
      spliced = stream.take_header(entry, header, offset);
    };
    auto data_read = [&stream](std::int64_t consumed) { stream.take_data_until(consumed); };
    while (auto entry = walker.next(inspect, data_read)) {
      if (spliced) {
        sidecar.file_count += *spliced;
        header = static_cast<std::uint64_t>(walker.consumed());
        continue;
      }
      // The helper looked for a killed restore's leftovers first: a restore has started since.
      if (archive::is_reserved_root_name(archive::normalise_member_path(entry->path))) {
        throw Error("found " + entry->path + ": a restore of the volume started during the snapshot");
      }
      if (entry->counts_as_file()) ++sidecar.file_count;
      stream.add_member(archive::member_of(*entry, header, static_cast<std::uint64_t>(data)));
      header = static_cast<std::uint64_t>(walker.consumed());
    }
    stream.set_members_end(header);
    stream.drain();
    return std::nullopt;
  } catch (const util::Interrupted&) {
    helper.kill();
    throw;
  } catch (const Error& e) {
    Damage damage{e.what(), stream.ended(), e.code()};
    helper.kill();
    return damage;
  }
}

// Our own failure is the error to report, not the exit code of the helper we
// killed for it; the helper's exit code when it failed by itself.
// Returns the helper's warnings (paths that changed while read, sockets).
std::vector<std::string> check_outcome(const SnapshotOptions& options, const std::optional<Damage>& damage,
                                       int exit_code, const volume::HelperReport& report) {
  std::string errors = report.error_text();
  if (damage && damage->helper_ended_first) {
    // The stream stopped short because the helper went away (killed, or the engine stopped it).
    throw Error("the helper stopped before the volume's archive was complete (exit " + std::to_string(exit_code) +
                "): " + damage->what + (errors.empty() ? "" : "; helper: " + errors));
  }
  if (damage) {
    throw Error("snapshot of volume " + options.volume + " failed: " + damage->what +
                    (errors.empty() ? "" : " (helper: " + errors + ")"),
                damage->code);
  }
  if (exit_code != 0 || !errors.empty()) {
    throw Error("the helper could not archive volume " + options.volume + " (exit " + std::to_string(exit_code) + ")" +
                (errors.empty() ? "" : ": " + errors));
  }
  return report.warnings;
}

// The nightly fast path (volume/files_cache.hpp), planned before the first
// stream: into a repository, the helper reports every member's inode and
// change time, which the next snapshot hands back with the members of the
// one it builds on; members unchanged since are not read.
struct Nightly {
  std::string cache_path;  // empty: not into a repository
  std::optional<volume::FilesCache> cache;
  bool full_read = false;
  // What this run's stream found.
  bool fast = false;  // members were taken from the earlier snapshot
  std::vector<volume::FileStamp> stamps;
  bool stamps_complete = false;
};

Nightly plan_nightly(const SnapshotOptions& options, store::SnapshotSink& sink) {
  Nightly nightly;
  if (!sink.builds_on_earlier()) return nightly;
  nightly.cache_path = volume::files_cache_path(sink.location(""));
  nightly.cache = volume::read_files_cache(nightly.cache_path);
  if (options.full_read) {
    spdlog::debug("nightly: every file read (--full-read)");
    nightly.full_read = true;
  } else if (nightly.cache && options.full_read_every > 0 &&
             nightly.cache->fast_runs + 1 >= static_cast<std::uint64_t>(options.full_read_every)) {
    spdlog::debug("nightly: every file read (one run in {}: full_read_every)", options.full_read_every);
    nightly.full_read = true;
  }
  return nightly;
}

// Into a repository, the helper stamps every member (--stat). The earlier
// snapshot this stream builds on, its members handed to the helper
// (--previous): when there is one at this level, the cache describes it, and
// the channel's folder can carry the file.
std::optional<store::EarlierSnapshot> use_earlier(const SnapshotOptions& options, store::SnapshotSink& file,
                                                  Nightly& nightly, volume::LocalChannel* channel,
                                                  volume::HelperSpec& spec, std::string& nonce) {
  nightly.fast = false;
  if (nightly.cache_path.empty()) return std::nullopt;
  spec.args.emplace_back("--stat");  // for the next snapshot
  if (nightly.full_read) return std::nullopt;
  file.frame_reuse(options.level);
  auto earlier = file.earlier();
  std::string why;
  if (!earlier) {
    why = "no earlier snapshot of the volume at this level whose frames can be read";
  } else if (!channel) {
    why = "the helper's stream goes over attach";
  } else if (!nightly.cache || nightly.cache->stem != earlier->stem ||
             nightly.cache->stamps.size() != earlier->members->size()) {
    why = "this host's files cache does not describe " + earlier->stem;
  }
  if (!why.empty()) {
    spdlog::debug("nightly: every file read ({})", why);
    return std::nullopt;
  }
  unsigned char bytes[8];
  crypto::random_bytes(bytes, sizeof bytes);
  nonce = util::hex(bytes, sizeof bytes);
  std::string path = channel->put_previous(volume::previous_records(*earlier->members, nightly.cache->stamps));
  spec.args.insert(spec.args.end(), {"--previous", path, "--marker", nonce});
  nightly.fast = true;
  return earlier;
}

// After the stream: what it found, and the figures in a debug line.
void note_nightly(Nightly& nightly, SnapshotStream& stream) {
  auto& stamps = stream.stamps();
  nightly.stamps = std::move(stamps.stamps());
  nightly.stamps_complete = stamps.complete() && nightly.stamps.size() == stream.members();
  if (!nightly.stamps_complete) {
    spdlog::debug("nightly: the helper stamped {} members{} of {}", nightly.stamps.size(),
                  stamps.complete() ? "" : " (out of order)", stream.members());
  }
  if (!nightly.fast) return;
  spdlog::debug("nightly: {} of {} members unchanged since {} ({} bytes of tar), {} frames taken as stored",
                stream.spliced_members(), stream.members(), nightly.cache->stem, stream.spliced_bytes(),
                stream.spliced_frames());
}

// After the snapshot is published as `stem`: the stamps for the next one.
void keep_stamps(Nightly& nightly, const std::string& stem) {
  if (nightly.cache_path.empty()) return;
  if (!nightly.stamps_complete) {
    spdlog::debug("nightly: no files cache for {}", stem);
    return;
  }
  std::uint64_t fast_runs = nightly.fast ? nightly.cache->fast_runs + 1 : 0;
  volume::write_files_cache(nightly.cache_path, {stem, fast_runs, std::move(nightly.stamps)});
}

// Step "stream": one pass from the helper's archive to the compressed, hashed sink.
enum class Streamed { done, leftovers, no_channel };
Streamed stream_volume(engine::Engine& engine, const SnapshotOptions& options, const volume::HelperImage& image,
                       store::SnapshotSink& file, SnapshotResult& result, volume::LocalChannel* channel,
                       Nightly& nightly) {
  auto& sidecar = result.sidecar;
  bool estimate = static_cast<bool>(options.on_estimate);
  auto spec = volume::archive_helper_spec(image, options.volume, options.excludes, estimate);
  std::string nonce;
  auto earlier = use_earlier(options, file, nightly, channel, spec, nonce);
  if (channel) channel->apply(spec);
  std::optional<HelperContainer> made;
  try {
    made.emplace(engine, spec);
  } catch (const engine::EngineError& e) {
    if (!channel) throw;
    // Podman refuses a bind mount whose folder it cannot see.
    spdlog::debug("transport: attach (the engine refused the local channel's folder: {})", e.what());
    return Streamed::no_channel;
  }
  auto& helper = *made;
  util::Progress progress("snapshot " + options.volume, std::nullopt);
  SnapshotStream stream(helper.attach_and_start(), file, options.level, options.recipients, progress);
  stream.use_channel(channel);
  stream.on_estimate(options.on_estimate);
  if (earlier) stream.splice_from(*earlier, nonce);
  // The first block read here: an empty stream may be the leftover report,
  // or a helper that could not see the channel's folder.
  auto first = stream.next_block();
  if (first.empty() && stream.channel_refused()) {
    int code = helper.wait();
    auto said = stream.helper_report().error_text();
    spdlog::debug("transport: attach (the helper could not use the local channel: exit {}{})", code,
                  said.empty() ? "" : ", " + said);
    return Streamed::no_channel;
  }
  if (first.empty() && helper.wait() == volume::kArchiveLeftoverExit) return Streamed::leftovers;
  bool first_taken = false;
  TarWalker walker([&] {
    if (first_taken) return stream.next_block();
    first_taken = true;
    return first;
  });
  auto damage = walk(walker, stream, helper, sidecar);
  progress.finish();
  int exit_code = helper.wait();
  result.warnings = check_outcome(options, damage, exit_code, stream.helper_report());
  sidecar.checksum = stream.finish();
  if (sidecar.encryption) sidecar.encryption->stored_sha256 = stream.stored_digest();
  // The index's frame hashes name the tar's content; without an index
  // (level 0) the checksum is the tar's own.
  if (stream.index_digest().empty()) {
    sidecar.tar_sha256 = sidecar.checksum;
  } else {
    sidecar.index_sha256 = stream.index_digest();
  }
  sidecar.uncompressed_bytes = stream.tar_bytes();
  note_nightly(nightly, stream);
  return Streamed::done;
}

// Over the local channel when the engine can use it, else over attach.
Streamed stream_either(engine::Engine& engine, const SnapshotOptions& options, const volume::HelperImage& image,
                       store::SnapshotSink& file, SnapshotResult& result, Nightly& nightly) {
  auto channel = volume::LocalChannel::open_for(engine.endpoint());
  if (channel) {
    auto streamed = stream_volume(engine, options, image, file, result, &*channel, nightly);
    if (streamed != Streamed::no_channel) return streamed;
  }
  return stream_volume(engine, options, image, file, result, nullptr, nightly);
}

// A killed restore leaves staging, old content or a journal at the volume's
// root; archiving them would mix old and new. The archive helper looks first
// (no helper run of its own while the volume is clean); when it finds them,
// the restore is finished or undone under the lock and the stream runs again.
void stream_recovered(engine::Engine& engine, const SnapshotOptions& options, const volume::HelperImage& image,
                      store::SnapshotSink& file, SnapshotResult& result, Nightly& nightly) {
  if (stream_either(engine, options, image, file, result, nightly) == Streamed::done) return;
  volume::finish_interrupted_restore(engine, image, options.volume);
  if (stream_either(engine, options, image, file, result, nightly) != Streamed::done) {
    throw Error("volume " + options.volume + " still holds what an interrupted restore left after its recovery");
  }
}

// Step "publish": the data under its final name (the sink picks the first
// free second from the start), then its sidecar.
std::string publish(store::SnapshotSink& file, SnapshotResult& result) {
  auto& sidecar = result.sidecar;
  result.compressed_bytes = file.bytes_written();
  // The bytes the sink got: the ciphertext when encrypted, else what the checksum covers.
  std::time_t named = file.commit(sidecar.encryption ? sidecar.encryption->stored_sha256 : sidecar.checksum);
  std::string stem = snapshot_stem(named, sidecar.spec_hash);
  result.data_file = file.location(stem + file.extension());
  result.sidecar_file = file.location(stem + ".json");
  sidecar.created_at = iso_timestamp(named);
  try {
    file.write_sidecar(stem, archive::sidecar_text(sidecar));
  } catch (...) {
    // A data file without its sidecar would look like a snapshot: take it back.
    file.remove_data(stem);
    throw;
  }
  return stem;
}

// Encrypted the same way: to the same recipients, or both with a passphrase
// (which is not recorded, so a changed passphrase alone is not seen), or neither.
bool same_encryption(const std::optional<archive::Encryption>& a, const std::optional<archive::Encryption>& b) {
  if (!a || !b) return !a && !b;
  auto sorted = [](std::vector<std::string> keys) {
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  return a->format == b->format && a->passphrase == b->passphrase && sorted(a->recipients) == sorted(b->recipients);
}

// The same tar stream: the same index (it holds the SHA-256 of every frame of
// the tar, in order), or, for snapshots without one, the same tar_sha256.
// Made by a libzstd that compresses the index differently, an unchanged
// volume counts as changed once: a snapshot too many, never one too few.
bool same_content(const archive::Sidecar& a, const archive::Sidecar& b) {
  if (a.index_sha256 && b.index_sha256) return *a.index_sha256 == *b.index_sha256;
  return a.tar_sha256 && b.tar_sha256 && *a.tar_sha256 == *b.tar_sha256;
}

// Step "compare" (--if-changed): the newest snapshot of the volume holds the
// same tar stream, made with the same excludes and encrypted the same way.
// The result then names it, and the data just streamed is dropped with its
// sink (nothing was published). Only the sidecar of the newest snapshot is
// read (one GET in a bucket), unless it is missing or unreadable.
bool same_as_newest(const SnapshotOptions& options, SnapshotResult& result) {
  auto store = store::open_store(options.base);
  for (auto& entry : store::list_unread(*store, options.volume)) {
    if (!entry.is_snapshot() || !store::read_sidecar(*store, entry)) continue;
    // Only the newest counts: an older match would restore an older state.
    const auto& newest = *entry.sidecar;
    if (!same_content(newest, result.sidecar) || newest.excludes != result.sidecar.excludes ||
        !same_encryption(newest.encryption, result.sidecar.encryption)) {
      return false;
    }
    result.unchanged = true;
    result.data_file = entry.data_file->text();
    result.sidecar_file = entry.sidecar_file->text();
    spdlog::info("volume {} is unchanged since {}: nothing written", options.volume, result.data_file);
    return true;
  }
  return false;
}

SnapshotResult snapshot_once(engine::Engine& engine, const SnapshotOptions& options) {
  auto started_at = std::chrono::steady_clock::now();
  std::time_t start = std::time(nullptr);
  // Level 0 (no compression) only for a stream: a file named .tar.zst holds zstd.
  if (options.level < (options.base.is_stream() ? 0 : 1) || options.level > 19) {
    throw Error("--level must be between 1 and 19", Exit::usage);
  }
  SnapshotResult result;
  result.sidecar = describe_volume(engine, options);

  // A snapshot taken while a restore swaps content would mix old and new.
  VolumeLock::refuse_if_held(engine, options.volume);
  volume::remove_stale_helpers(engine);
  auto image = volume::resolve_helper_image(engine, options.helper_image);
  // Held while the helper reads: a restore that takes the lock from now on
  // sees it and refuses. One that took the lock before is seen by the second
  // check, made once the lease runs (read_lease.hpp).
  std::optional<volume::ReadLease> reading(std::in_place, engine, image, options.volume);
  VolumeLock::refuse_if_held(engine, options.volume);

  // A folder, or s3://BUCKET[/PREFIX]: checked before any container is stopped.
  auto extension = store::data_extension(!options.recipients.empty());
  auto sink =
      options.base.is_stream()
          ? store::open_stream_sink(options.stream_fd, options.sidecar_file, start, extension)
          : store::open_store(options.base)->open_sink(options.volume, start, result.sidecar.spec_hash, extension);
  result.sealed = sink->sealed();
  StoppedContainers stopped(engine, options.volume, image);
  stopped.set_stop_timeout(options.stop_timeout);
  quiesce(engine, options, stopped);
  Nightly nightly = plan_nightly(options, *sink);
  stream_recovered(engine, options, image, *sink, result, nightly);
  reading.reset();  // the volume is read: restores may go on
  result.containers_started = stopped.restart();
  result.containers_stopped = stopped.stopped_names();
  if (!(options.if_changed && same_as_newest(options, result))) keep_stamps(nightly, publish(*sink, result));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();
  return result;
}
}  // namespace

SnapshotResult take_snapshot(engine::Engine& engine, const SnapshotOptions& options) {
  // Hooks around the whole snapshot.
  return snapshot_with_hooks(engine, options, [&] { return snapshot_once(engine, options); });
}

}  // namespace dockform::ops
