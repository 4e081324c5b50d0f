#pragma once
// `volume snapshot`: one streaming pass from the volume to a finished,
// checksummed snapshot file and its sidecar.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/sidecar.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/engine/docker.hpp"
#include "dockform/volume/hooks.hpp"

namespace dockform::ops {

struct SnapshotOptions {
  std::string volume;
  std::filesystem::path base_dir;  // the volume's snapshots go to base_dir/<volume>/; "-": standard output
  std::string sidecar_file;        // with base_dir "-": where the sidecar goes (none when empty)
  int stream_fd = 1;               // with base_dir "-": the descriptor written to (standard output)
  std::optional<std::string> note;
  int level = 3;
  bool stop_containers = false;
  std::optional<int> stop_timeout;    // --stop-timeout; else each container's own
  std::optional<int> hook_timeout;    // --hook-timeout: for hooks without the timeout label
  std::string helper_image;           // empty: the built-in helper image
  std::vector<std::string> excludes;  // --exclude and the manifest's volumes.NAME.exclude
  // --if-changed: nothing is written when the newest snapshot in base_dir
  // holds the same tar stream (tar_sha256) made with the same excludes.
  bool if_changed = false;
  // Encrypt to these (age): X25519 keys, or one passphrase. Empty: not encrypted.
  std::vector<crypto::age::Recipient> recipients;
};

struct SnapshotResult {
  std::filesystem::path data_file;
  std::filesystem::path sidecar_file;
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
};

SnapshotResult take_snapshot(engine::Engine& engine, const SnapshotOptions& options);

}  // namespace dockform::ops
