#pragma once
// Reading a snapshot file: its format, its sidecar, and its tar stream in one
// pass that also hashes the file's bytes (and decrypts an encrypted one).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/crypto/age.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"

namespace dockform::archive {

// tar_zst_age: a .tar.zst encrypted in the age format (.tar.zst.age).
enum class SnapshotFormat { tar_zst, tar, tar_zst_age };
// "tar.zst", "tar" or "tar.zst.age".
const char* format_name(SnapshotFormat format);

// The bytes of a snapshot file, wherever it is (a local file, an object in a
// bucket): every check reads through this, so a remote snapshot passes the
// same checks as a local one.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Path or URL, for messages.
  virtual const std::string& name() const = 0;
  virtual std::uint64_t size() const = 0;
  // The first `size` bytes (fewer if the file is shorter).
  virtual std::string read_head(std::size_t size) = 0;
  // The next bytes in order; 0 at the end. Throws Error on read errors.
  virtual std::size_t read(char* buffer, std::size_t size) = 0;
  // Path or URL of a file in the same folder, and its content (nullopt when absent).
  virtual std::string sibling_name(const std::string& filename) const = 0;
  virtual std::optional<std::string> read_sibling(const std::string& filename) = 0;
};

// Opens a local file; throws Error naming it when it cannot be read.
std::unique_ptr<ByteSource> open_local_file(const std::filesystem::path& file);

// The same checks as the path versions below, on any source.
SnapshotFormat detect_format(ByteSource& source);
struct SidecarText {
  std::string location;
  std::string text;
};
std::optional<SidecarText> find_sidecar(ByteSource& source);
std::optional<std::uint64_t> uncompressed_size_hint(ByteSource& source, SnapshotFormat format);

// From the name (.tar.zst.age, .tar.zst or .tar) and the first bytes, which must agree.
// Throws Error otherwise.
SnapshotFormat detect_format(const std::filesystem::path& file);

// X.json beside X.tar.zst or X.tar, else X.tar.json (the name
// dockform 0.5.x restore looked for); nullopt when neither exists.
std::optional<std::filesystem::path> find_sidecar(const std::filesystem::path& data_file);

// The tar size when it is known without reading the file: a plain .tar's own
// size, or the content size a zstd frame header records.
std::optional<std::uint64_t> uncompressed_size_hint(const std::filesystem::path& file, SnapshotFormat format);

class SnapshotReader {
 public:
  // `on_read` is told the number of file bytes read so far.
  SnapshotReader(const std::filesystem::path& file, SnapshotFormat format,
                 std::function<void(std::uint64_t)> on_read = {});
  SnapshotReader(ByteSource& source, SnapshotFormat format, std::function<void(std::uint64_t)> on_read = {});
  // An encrypted snapshot (tar_zst_age), decrypted with `identities` as it is read.
  SnapshotReader(ByteSource& source, std::vector<crypto::age::Identity> identities,
                 std::function<void(std::uint64_t)> on_read = {});
  ~SnapshotReader();
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  // The next bytes of the tar stream; empty at the end. Throws Error on
  // corrupt or truncated zstd data and on read errors.
  std::string_view next_block();
  // Hex SHA-256 of the compressed tar (the file's bytes, or what an encrypted
  // file decrypted to); call after next_block() returned empty.
  std::string checksum();
  // Hex SHA-256 of the file's bytes as stored (the same as checksum() unless encrypted).
  std::string stored_checksum() {
    if (digest_.empty()) digest_ = sha_.hex_digest();
    return digest_;
  }
  bool encrypted() const { return decryptor_ != nullptr; }
  // After a damaged stream stopped the reading: hashes the file's remaining
  // bytes as they are and returns the hex SHA-256 of the whole stored file,
  // so the damage can be named as a checksum mismatch with the actual digest.
  std::string checksum_of_whole_file();
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t tar_bytes() const { return tar_bytes_; }

 private:
  std::string_view read_file();
  std::string_view read_compressed();
  void start_zstd();
  std::unique_ptr<ByteSource> owned_;
  ByteSource* source_ = nullptr;
  std::function<void(std::uint64_t)> on_read_;
  std::vector<char> buffer_;
  util::Sha256 sha_;
  std::string digest_;
  std::unique_ptr<util::ZstdReader> zstd_;
  std::unique_ptr<crypto::age::Decryptor> decryptor_;  // encrypted files only
  bool decrypt_finished_ = false;
  std::string plain_;  // the compressed tar bytes the last read decrypted
  util::Sha256 plain_sha_;
  std::string plain_digest_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t tar_bytes_ = 0;
};

// After damage (age, zstd, tar) stopped the reading of a file whose sidecar
// says `expected` for the stored bytes: "checksum mismatch: sidecar says E,
// the file has A" when the whole file's digest differs, else empty (then the
// damage is the story).
std::string checksum_mismatch(SnapshotReader& reader, const std::string& expected);

// The reader for `format`; an encrypted one decrypts with `identities`.
std::unique_ptr<SnapshotReader> open_reader(ByteSource& source, SnapshotFormat format,
                                            const std::vector<crypto::age::Identity>& identities,
                                            std::function<void(std::uint64_t)> on_read = {});

// Reads the age header at the start of an encrypted snapshot: its syntax
// always; with identities also that one of them opens the file key and that
// the header's MAC matches. Throws crypto::age::AgeError (refused) otherwise.
void check_age_header(ByteSource& source, const std::vector<crypto::age::Identity>& identities);

struct Sidecar;
// The stored bytes' SHA-256 the sidecar records: checksum.tar_zst for a plain
// file, checksum.tar_zst_age for an encrypted one (empty when the sidecar
// belongs to the plain snapshot age encrypted by itself: nothing to compare
// the stored bytes with).
std::string stored_checksum_of(const Sidecar& sidecar, const SnapshotReader& reader);

}  // namespace dockform::archive
