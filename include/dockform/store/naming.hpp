#pragma once
// Snapshot file names: the UTC time the snapshot was taken and the first 8
// hex digits of the volume's spec hash,
//   <UTC YYYY-MM-DDTHH-MM-SSZ>__spec-<8 hex>.tar.zst   and   <same stem>.json
// (.tar.zst.age when the snapshot is encrypted in the age format).
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

namespace dockform::store {

inline constexpr const char* kDataExtension = ".tar.zst";
inline constexpr const char* kEncryptedExtension = ".tar.zst.age";

// The data file's extension of a snapshot, encrypted or not.
inline const char* data_extension(bool encrypted) { return encrypted ? kEncryptedExtension : kDataExtension; }

// `time` in UTC, formatted by strftime `pattern` (at most 31 characters).
std::string utc_text(std::time_t time, const char* pattern);

// "2023-10-04T15-30-45Z" (file names) and "2023-10-04T15:30:45Z" (created_at).
std::string file_timestamp(std::time_t time);
std::string iso_timestamp(std::time_t time);
std::optional<std::time_t> parse_file_timestamp(const std::string& text);
std::optional<std::time_t> parse_iso_timestamp(const std::string& text);

std::string snapshot_stem(std::time_t time, const std::string& spec_hash);

// Folder holding a volume's snapshots: <base>/<volume>.
std::filesystem::path volume_folder(const std::filesystem::path& base, const std::string& volume);

}  // namespace dockform::store
