#pragma once
// The one interface to where snapshots are kept, laid out the same way by
// every backend: <base>/<volume>/<stem>.tar.zst|.tar.zst.age|.tar + <stem>.json.
// Each backend lives in a folder of its own (store/local, store/s3; the
// standard streams in store/stream); store.cpp holds the table from a
// location's scheme to its backend. Catalog and retention work through this
// interface and know no backend.
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/seekable.hpp"
#include "dockform/archive/sidecar.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/store/location.hpp"
#include "dockform/store/snapshot_sink.hpp"
#include "dockform/util/error.hpp"

namespace dockform::store {

// The storage itself failed (a bucket refused or did not answer): exit code
// `storage`, and no verdict on the snapshot being read.
class StorageError : public Error {
 public:
  explicit StorageError(const std::string& message) : Error(message, Exit::storage) {}
};

// A key is missing to read a snapshot (an encrypted repository's frames
// without its identity): no verdict on the snapshot either. Exit 2.
class KeyMissing : public Error {
 public:
  explicit KeyMissing(const std::string& message) : Error(message, Exit::usage) {}
};

// A file in a volume's folder, as the listing saw it.
struct StoredFile {
  Location location;
  std::uint64_t size = 0;
  std::time_t modified = 0;
};

// prune --repack's default: a pack is rewritten once half of its bytes are unused.
inline constexpr int kRepackUnusedPercent = 50;

// What a collection of unused data freed (a repository's frames that no
// snapshot uses any more, after a prune).
struct Collected {
  std::uint64_t packs_removed = 0;    // packs that held no used frame
  std::uint64_t packs_rewritten = 0;  // packs --repack found unused enough: their used frames moved to a new pack
  std::uint64_t frames_removed = 0;   // stored frames no snapshot uses (and second copies)
  std::uint64_t bytes_copied = 0;     // used frames moved by the rewrites
  std::uint64_t bytes_freed = 0;      // stored bytes gone (with --dry-run: that would go)
  std::uint64_t unfinished = 0;       // recipes of killed snapshots (no sidecar) removed
};

// What a prune holds from before the retention removes anything until after
// the collection: a repository's lock (docs/storage.md, "The repository
// lock"); nothing for a backend whose snapshots share no data. Released by
// its destructor.
class PruneLock {
 public:
  virtual ~PruneLock() = default;
  // Throws Error (refused) when the lock may have been lost (a bucket's lock
  // whose heartbeat stopped).
  virtual void check_held() const {}
};

// A folder of volume folders: a local folder, or a prefix in a bucket.
class Store {
 public:
  virtual ~Store() = default;
  // The volumes that have a folder, hidden ones left out.
  virtual std::vector<std::string> volumes() = 0;
  // The files of <base>/<volume>/, temporaries (hidden names) and subfolders
  // left out; none when the folder is missing.
  virtual std::vector<StoredFile> files(const std::string& volume) = 0;
  // Throws Error when the sidecar cannot be read or parsed (StorageError when
  // the storage failed).
  virtual archive::Sidecar read_sidecar(const Location& file) = 0;
  // A new snapshot of `volume` with `extension`, published under its final
  // name only when complete. Creates the folder (or checks the bucket) and
  // removes what killed writers left there.
  virtual std::unique_ptr<SnapshotSink> open_sink(const std::string& volume, std::time_t start,
                                                  const std::string& spec_hash, const std::string& extension) = 0;
  virtual void remove(const Location& file) = 0;
  // Makes the removals from the volume's folder durable.
  virtual void sync(const std::string& volume) = 0;
  // Whether its snapshots are sealed in it though they are plain .tar.zst
  // files (an encrypted repository).
  virtual bool sealed() { return false; }
  // A prune's lock, taken before it removes anything: a repository's, held
  // alone (shared for a dry run, which changes nothing), waiting for it up to
  // DOCKFORM_REPO_LOCK_WAIT, then Error (refused) naming the holder.
  virtual std::unique_ptr<PruneLock> lock_for_prune(bool /*dry_run*/) { return std::make_unique<PruneLock>(); }
  // After removals, under `held` (this store's lock_for_prune): frees the
  // space that only removed snapshots used, where the backend shares it
  // between snapshots (a repository's frames); nullopt for a backend whose
  // removals freed it already.
  // A repository's unused frames (prune): packs with at least
  // `repack_percent` of their bytes unused are rewritten.
  virtual std::optional<Collected> collect_unused(const PruneLock& /*held*/, bool /*dry_run*/, int /*repack_percent*/) {
    return std::nullopt;
  }
};

// The backend of `base` (a folder or a remote location). The streams keep no
// snapshots: `base` "-" is a usage error (exit 2); ./- names a folder called "-".
std::unique_ptr<Store> open_store(const Location& base);

// Checks the settings (from the environment) that a sink into `base` will
// read, so that a bad one fails a snapshot before any work: throws Error
// (usage) naming it.
void check_sink_settings(const Location& base);

// A snapshot for reading; throws Error naming the file or object when it
// cannot be opened. The streams: standard input (or `stream_fd`), whose
// sidecar is `sidecar_file` (none when empty).
std::unique_ptr<archive::ByteSource> open_snapshot(const Location& file, const std::string& sidecar_file = "",
                                                   int stream_fd = 0);

// A snapshot for reads at random offsets (a seekable snapshot's index and
// frames): a local file, a repository's snapshot (reassembled from its
// packs), or a bucket's object by ranged requests; nullptr for the streams.
// Throws Error naming the file or object when it cannot be opened.
std::unique_ptr<archive::RandomAccess> open_random_access(const Location& file);

}  // namespace dockform::store
