#pragma once
// `volume verify`: everything restore checks about a snapshot file, without
// an engine: checksum, every zstd frame, every tar member, the counts. An
// encrypted snapshot without a key: its stored bytes' checksum and its age
// header only.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/seekable.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/store/location.hpp"

namespace dockform::ops {

struct VerifyReport {
  std::string snapshot;  // path or s3:// URL
  std::optional<std::string> sidecar_file;
  std::string format;  // "tar.zst", "tar.zst.age" or "tar"
  bool encrypted = false;
  bool content_checked = false;  // false: an encrypted snapshot checked without its key
  std::string checksum;          // of the compressed tar (decrypted when encrypted)
  std::string stored_checksum;   // of the encrypted file's bytes
  std::uint64_t bytes_read = 0;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t file_count = 0;
  std::uint64_t members = 0;
  // A seekable snapshot (docs/snapshot-format.md): its frames, all checked
  // against the index and the seek table; 0 for a one-frame snapshot.
  std::uint64_t seekable_frames = 0;
  // false: --no-read-data, the structure alone (verify_structure).
  bool data_read = true;
  std::vector<std::string> problems;  // empty: the snapshot is sound
  std::vector<std::string> warnings;
  bool ok() const { return problems.empty(); }
};

// `file` may be the stream "-" (standard input), whose sidecar is
// `sidecar_file` (none when empty: the checksum then cannot be compared).
// The trailers of the snapshot `path` (docs/snapshot-format.md: a local file or a
// repository's snapshot), after
// the full pass found `walked`: index and seek table against the data, the
// index against the sidecar's `index_sha256`. Adds to `report.problems`.
// Each frame is read again against the seek table only where that is cheap
// (on this machine): in a bucket it would download the snapshot twice, and
// the full pass has already checked every byte against the sidecar.
void verify_seekable(const store::Location& path, const std::vector<archive::Member>& walked,
                     const std::optional<std::string>& index_sha256, VerifyReport& report);

// With `read_data` false (--no-read-data), only the structure is checked,
// reading no data frame: the sidecar, the index and the seek table (the
// index against the sidecar's index_sha256, the sizes and counts they give
// against the sidecar's) and, in a repository, that every frame of the
// recipe is stored whole. A snapshot without an index cannot be checked so
// (a problem); the stream "-" is a usage error.
VerifyReport verify_snapshot(const store::Location& file, const std::vector<crypto::age::Identity>& identities = {},
                             const std::string& sidecar_file = "", bool read_data = true);

}  // namespace dockform::ops
