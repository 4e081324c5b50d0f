#pragma once
// `volume verify`: everything restore checks about a snapshot file, without
// an engine: checksum, every zstd frame, every tar member, the counts. An
// encrypted snapshot without a key: its stored bytes' checksum and its age
// header only.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  std::vector<std::string> problems;  // empty: the snapshot is sound
  std::vector<std::string> warnings;
  bool ok() const { return problems.empty(); }
};

// `file` may be the stream "-" (standard input), whose sidecar is
// `sidecar_file` (none when empty: the checksum then cannot be compared).
VerifyReport verify_snapshot(const store::Location& file, const std::vector<crypto::age::Identity>& identities = {},
                             const std::string& sidecar_file = "");

}  // namespace dockform::ops
