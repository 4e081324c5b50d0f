#pragma once
// The one walk over a snapshot's tar stream that restore and verify share:
// every member header through MemberSafety, the counts, the blocks after the
// end-of-archive marker, and whether that marker is there at all.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/sidecar.hpp"
#include "dockform/archive/tar_walker.hpp"

namespace dockform::archive {

struct WalkSummary {
  std::uint64_t members = 0;
  std::uint64_t file_count = 0;     // what `find -type f` would count after extraction
  std::uint64_t tar_bytes = 0;      // the whole stream, trailing blocks included
  std::vector<std::string> unsafe;  // reasons, when unsafe members are collected
  // The stream ends right after the last member's data: no end-of-archive
  // marker, so it was cut short (tar itself would accept it silently).
  bool truncated = false;
};

enum class OnUnsafe {
  refuse,   // throw Error (Exit::refused) at the first unsafe member: restore
  collect,  // note it in WalkSummary::unsafe and go on: verify
};

// Told the stream offset up to which every member header has passed the
// checks, so the bytes before it may go on to an extracting tar; UINT64_MAX
// once the end-of-archive marker was reached.
using CheckedUpTo = std::function<void(std::uint64_t)>;

// Told each member with the stream offsets where its headers and its data start.
using OnMember = std::function<void(const TarEntry&, std::uint64_t header_offset, std::uint64_t data_offset)>;

// Walks `source` to its end, filling `summary`. Throws Error (Exit::refused)
// when the stream is damaged ("tar stream is damaged: ..."), and whatever
// `source` throws; what was found until then stays in `summary`.
void checked_walk(const TarWalker::Source& source, OnUnsafe on_unsafe, WalkSummary& summary,
                  const CheckedUpTo& checked_up_to = {}, const OnMember& on_member = {});

// How a snapshot differs from what its sidecar records; each text names the
// field and both values ("file count differs: sidecar says 3, the archive holds 4").
struct SidecarMismatch {
  std::optional<std::string> checksum;  // the data file's bytes are not what was written
  std::vector<std::string> counts;      // tar bytes or file count: a sign of a hand-edited sidecar
};
SidecarMismatch compare_with_sidecar(const Sidecar& sidecar, const std::string& checksum, const WalkSummary& walk);

}  // namespace dockform::archive
