#pragma once
// `volume verify`: everything restore checks about a snapshot file, without
// an engine: checksum, every zstd frame, every tar member, the counts.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dockform::ops {

struct VerifyReport {
  std::filesystem::path snapshot;
  std::optional<std::filesystem::path> sidecar_file;
  std::string format;  // "tar.zst" or "tar"
  std::string checksum;
  std::uint64_t bytes_read = 0;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t file_count = 0;
  std::uint64_t members = 0;
  std::vector<std::string> problems;  // empty: the snapshot is sound
  std::vector<std::string> warnings;
  bool ok() const { return problems.empty(); }
};

VerifyReport verify_snapshot(const std::filesystem::path& file);

}  // namespace dockform::ops
