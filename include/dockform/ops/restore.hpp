#pragma once
// `volume restore`: checks first, extraction into staging while the volume's
// users still run, verification, then a short swap. The caller has checked
// that the manifest declares the volume.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/sidecar.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/engine/docker.hpp"
#include "dockform/store/location.hpp"

namespace dockform::ops {

struct RestoreOptions {
  std::string volume;
  store::Location snapshot;  // a file, an s3:// object, or the standard input
  std::string sidecar_file;  // with standard input: the sidecar (none when empty)
  int stream_fd = 0;         // with standard input: the descriptor read
  // With standard input and no sidecar_file: the sidecar of a snapshot taken
  // while it streams in (volume copy), asked for once the stream has ended,
  // before the swap; it throws when the snapshot failed.
  std::function<archive::Sidecar()> sidecar_after_stream;
  // Volume copy: the source's estimate of the tar's size (0 while unknown);
  // the progress line then counts tar bytes against it, with an ETA.
  std::function<std::uint64_t()> expected_tar_bytes;
  bool force = false;
  bool stop_containers = false;
  std::optional<int> stop_timeout;  // --stop-timeout; else each container's own
  // --no-privileged-bits, for archives made elsewhere: setuid/setgid bits,
  // file capabilities and device nodes are not restored (a warning each).
  bool no_privileged_bits = false;
  std::string helper_image;
  // --path: only the subtrees at these paths are replaced (restore_paths()
  // made them); the rest of the volume stays as it is. Each must be in the
  // snapshot (else Exit::usage, the volume unchanged); --force is not needed.
  std::vector<std::string> paths;
  // Decrypt an encrypted snapshot (.tar.zst.age) with these.
  std::vector<crypto::age::Identity> identities;
};

struct RestoreResult {
  std::string volume;
  std::string snapshot;            // path, s3:// URL, or "-"
  std::vector<std::string> paths;  // --path, normalised; empty: the whole volume
  std::optional<std::string> sidecar_file;
  bool checksum_verified = false;
  bool encrypted = false;
  std::string checksum;         // of the compressed tar (decrypted when encrypted)
  std::string stored_checksum;  // of the encrypted file's bytes
  std::uint64_t bytes_read = 0;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t file_count = 0;
  double seconds = 0;
  double downtime_seconds = 0;  // containers stopped -> started again
  std::vector<std::string> containers_stopped;
  std::vector<std::string> containers_started;
  std::vector<std::string> recovered;
  std::vector<std::string> warnings;
};

RestoreResult restore_snapshot(engine::Engine& engine, const RestoreOptions& options);

// The --path arguments as the restore takes them: normalised ("/etc/",
// "./etc" and "etc" are "etc"), each once, none below another one. Throws
// Error (Exit::usage) for the root, a ".." component or a reserved name.
std::vector<std::string> restore_paths(const std::vector<std::string>& given);

}  // namespace dockform::ops
