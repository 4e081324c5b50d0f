#pragma once
// `volume snapshot`: one streaming pass from the volume to a finished,
// checksummed snapshot file and its sidecar.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/sidecar.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/engine/docker.hpp"
#include "dockform/store/location.hpp"
#include "dockform/volume/hooks.hpp"

namespace dockform::ops {

struct SnapshotOptions {
  std::string volume;
  store::Location base;      // the volume's snapshots go to <base>/<volume>/; or standard output
  std::string sidecar_file;  // with standard output: where the sidecar goes (none when empty)
  int stream_fd = 1;         // with standard output: the descriptor written to
  std::optional<std::string> note;
  int level = 3;  // zstd level; 0 (streams only): the tar as it is, uncompressed
  bool stop_containers = false;
  std::optional<int> stop_timeout;    // --stop-timeout; else each container's own
  std::optional<int> hook_timeout;    // --hook-timeout: for hooks without the timeout label
  std::string helper_image;           // empty: the built-in helper image
  std::vector<std::string> excludes;  // --exclude and the manifest's volumes.NAME.exclude
  // Whether the manifest declares the volume: the hint when it is missing
  // (unset: no manifest, as in `volume copy`).
  std::optional<bool> declared;
  // --if-changed: nothing is written when the newest snapshot in base
  // holds the same tar stream (the same index_sha256; tar_sha256 for a
  // snapshot without an index) made with the same excludes.
  bool if_changed = false;
  // Encrypt to these (age): X25519 keys, or one passphrase. Empty: not encrypted.
  std::vector<crypto::age::Recipient> recipients;
  // Set: the helper first estimates the tar's size (a walk of names and
  // sizes), handed here before the stream (volume copy: the ETA).
  std::function<void(std::uint64_t)> on_estimate;
  // Into a repository, members whose type, size, mtime, ctime and inode are
  // those of the snapshot it builds on are not read (volume/files_cache.hpp);
  // --full-read reads every file, and so does one run in full_read_every
  // (0: never).
  bool full_read = false;
  int full_read_every = 0;
};

struct SnapshotResult {
  std::string data_file;     // path, s3:// URL, or "-"
  std::string sidecar_file;  // path or s3:// URL; with "-", the --sidecar file (or empty)
  archive::Sidecar sidecar;
  std::uint64_t compressed_bytes = 0;
  double seconds = 0;
  std::vector<std::string> containers_stopped;
  std::vector<std::string> containers_started;
  // Paths that changed while read or could not be archived exactly, and
  // what the hooks warned about.
  std::vector<std::string> warnings;
  std::vector<volume::HookRun> hooks;
  std::string hook_error;  // a post hook failed; the snapshot was written
  // --if-changed found the volume unchanged: nothing was written; data_file
  // and sidecar_file name the newest snapshot, which holds the same content.
  bool unchanged = false;
  bool sealed = false;  // into an encrypted repository (the file itself is a plain .tar.zst)
};

SnapshotResult take_snapshot(engine::Engine& engine, const SnapshotOptions& options);

}  // namespace dockform::ops
