#pragma once
// Reading a snapshot file: its format, its sidecar, and its tar stream in one
// pass that also hashes the file's bytes.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/util/fd.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"

namespace dockform::archive {

enum class SnapshotFormat { tar_zst, tar };

// From the name (.tar.zst or .tar) and the first bytes, which must agree.
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
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  // The next bytes of the tar stream; empty at the end. Throws Error on
  // corrupt or truncated zstd data and on read errors.
  std::string_view next_block();
  // Hex SHA-256 of the file's bytes; call after next_block() returned empty.
  std::string checksum() {
    if (digest_.empty()) digest_ = sha_.hex_digest();
    return digest_;
  }
  // After a damaged stream stopped the reading: hashes the file's remaining
  // bytes as they are and returns the hex SHA-256 of the whole file, so the
  // damage can be named as a checksum mismatch with the actual digest.
  std::string checksum_of_whole_file();
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t tar_bytes() const { return tar_bytes_; }

 private:
  std::string_view read_file();
  std::filesystem::path path_;
  util::Fd fd_;
  std::function<void(std::uint64_t)> on_read_;
  std::vector<char> buffer_;
  util::Sha256 sha_;
  std::string digest_;
  std::unique_ptr<util::ZstdReader> zstd_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t tar_bytes_ = 0;
};

// After damage (zstd, tar) stopped the reading of a file whose sidecar says
// `expected`: "checksum mismatch: sidecar says E, the file has A" when the
// whole file's digest differs, else empty (then the damage is the story).
std::string checksum_mismatch(SnapshotReader& reader, const std::string& expected);

}  // namespace dockform::archive
