#pragma once
// The JSON sidecar beside each snapshot (X.json beside X.tar.zst): the
// volume's spec, the counts, and the SHA-256 of the data file's bytes, in the
// field order and 2-space indent dockform 0.5.x writes.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dockform::archive {

// How an encrypted snapshot was encrypted: public facts only, never a key.
struct Encryption {
  std::string format = "age";
  std::vector<std::string> recipients;  // the X25519 recipients (age1...), empty for a passphrase
  bool passphrase = false;
  std::string stored_sha256;  // hex SHA-256 of the stored (encrypted) file's bytes
};

struct Sidecar {
  std::string dockform_version;
  std::string created_at;
  std::string volume_name;
  std::string spec_hash;
  std::string driver;
  std::map<std::string, std::string> driver_opts;
  std::map<std::string, std::string> labels;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t file_count = 0;
  std::string checksum_algo = "sha256";
  // hex SHA-256 of the compressed tar: the data file's bytes, or, when the
  // snapshot is encrypted, the bytes age decrypts it to.
  std::string checksum;
  // hex SHA-256 of the uncompressed tar, written for uncompressed (level 0)
  // snapshots only, where it is the checksum; older dockform wrote it for
  // every snapshot. A seekable snapshot's index_sha256 names its content.
  std::optional<std::string> tar_sha256;
  // hex SHA-256 of the seekable index frame (docs/snapshot-format.md): a
  // partial read trusts the index through it, and each frame through the
  // index. Equal for two snapshots of an unchanged volume (the helper's
  // archives are deterministic). Absent in older snapshots (one frame, no index).
  std::optional<std::string> index_sha256;
  std::vector<std::string> excludes;  // the patterns the snapshot left out
  std::optional<std::string> notes;
  std::optional<Encryption> encryption;
};

// Field order as the sidecars of existing snapshots have it; 2-space indent.
nlohmann::ordered_json sidecar_to_json(const Sidecar& sidecar);
std::string sidecar_text(const Sidecar& sidecar);
// Throws Error naming the file and the field on anything malformed.
Sidecar parse_sidecar(const std::string& text, const std::string& source);
Sidecar read_sidecar(const std::filesystem::path& file);

// The sidecar that belongs to a data file: X.tar.zst.age, X.tar.zst and X.tar -> X.json.
std::filesystem::path sidecar_for(const std::filesystem::path& data_file);
// dockform 0.5.x restore looked for X.tar.json; accepted too.
std::filesystem::path legacy_sidecar_for(const std::filesystem::path& data_file);

}  // namespace dockform::archive
