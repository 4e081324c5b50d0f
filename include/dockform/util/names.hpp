#pragma once
// Every name dockform gives things, in one place: the labels on what it
// creates in the engine (and reads back), and the names it reserves at a
// volume's root during a restore (volume/staging.hpp explains the protocol).
// Header-only: dockform-helper, which links none of the core, uses the
// reserved names too.
#include <cstddef>
#include <string_view>

namespace dockform::names {

// --- labels -------------------------------------------------------------------
// What `apply` creates: the manifest's docker.identifier.
inline constexpr const char* kIdentifierLabel = "io.dockform.identifier";
// Helper containers: "1", the owning run (boot id:pid:start), the volume.
inline constexpr const char* kHelperLabel = "io.dockform.helper";
inline constexpr const char* kOwnerLabel = "io.dockform.owner";
inline constexpr const char* kVolumeLabel = "io.dockform.volume";
// A volume's lock container (its value: the volume).
inline constexpr const char* kLockLabel = "io.dockform.lock";
// A snapshot run's reader lease (its value: the volume it reads).
inline constexpr const char* kReadLabel = "io.dockform.read";
// The record of containers a run stopped (their ids).
inline constexpr const char* kStoppedLabel = "io.dockform.stopped";
// Leases and who holds them (volume/lease.hpp).
inline constexpr const char* kLeaseLabel = "io.dockform.lease";
inline constexpr const char* kHostLabel = "io.dockform.host";
inline constexpr const char* kPidLabel = "io.dockform.pid";
inline constexpr const char* kSinceLabel = "io.dockform.since";
// Snapshot hooks, set by users on their containers.
inline constexpr const char* kPreHookLabel = "io.dockform.snapshot.pre";
inline constexpr const char* kPostHookLabel = "io.dockform.snapshot.post";
inline constexpr const char* kHookTimeoutLabel = "io.dockform.snapshot.timeout";

// --- reserved names at a volume's root -----------------------------------------
// Each is a prefix and a run's ID (the journal also with kTmpSuffix while it
// is written): only names of exactly that form are dockform's, so a user's
// ".dockform-old-notes.txt" is restored, archived and left alone like any file.
inline constexpr std::string_view kStagingPrefix = ".dockform-restore-";  // the snapshot, extracted
inline constexpr std::string_view kOldPrefix = ".dockform-old-";          // the old content during a swap
inline constexpr std::string_view kJournalPrefix = ".dockform-swap-";     // the swap's journal
inline constexpr std::string_view kTmpSuffix = ".tmp";                    // a journal being written
inline constexpr std::size_t kMaxIdBytes = 64;

// A run's ID: 1 to 64 letters, digits, '-' or '_' (dockform makes 12
// lowercase letters and digits; the helper refuses any other ID).
constexpr bool is_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (char c : id) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed) return false;
  }
  return true;
}

// True when `name` (one path component) is one of the reserved names.
constexpr bool is_reserved(std::string_view name) {
  for (std::string_view prefix : {kStagingPrefix, kOldPrefix, kJournalPrefix}) {
    if (!name.starts_with(prefix)) continue;
    std::string_view id = name.substr(prefix.size());
    if (prefix == kJournalPrefix && id.ends_with(kTmpSuffix)) id.remove_suffix(kTmpSuffix.size());
    if (is_id(id)) return true;
  }
  return false;
}

}  // namespace dockform::names
