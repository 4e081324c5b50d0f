#pragma once
// `volume ls`: a snapshot's members without restoring it. A seekable
// snapshot (docs/snapshot-format.md) is listed from its index, reading only
// the file's tail; others (one frame, other tools, encrypted for now) with
// one sequential pass.
#include <cstdint>
#include <string>
#include <vector>

#include "dockform/archive/seekable.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/store/location.hpp"

namespace dockform::ops {

struct Listing {
  std::vector<archive::Member> members;  // in archive order
  bool from_index = false;               // false: one sequential pass
  std::uint64_t bytes_read = 0;          // of the snapshot file
  std::uint64_t file_size = 0;
};

// The members at or below each of `paths` ("etc", "./etc/" and "/etc" name
// the same folder; none: all). Throws Error (usage) naming a path that
// matches no member.
Listing list_snapshot(const store::Location& file, const std::vector<std::string>& paths,
                      const std::vector<crypto::age::Identity>& identities = {});

// True when `member_path` (as stored) is `wanted` (normalised) or lies below it.
bool is_at_or_below(const std::string& member_path, const std::string& wanted);

}  // namespace dockform::ops
