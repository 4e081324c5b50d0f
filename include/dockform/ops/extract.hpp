#pragma once
// `volume extract`: single files and folders out of a snapshot. A seekable
// snapshot (docs/snapshot-format.md; local, in a bucket, or inside age) is
// read only in the frames that hold them, each checked against the index's
// SHA-256 before a byte of it is used; others are read whole in one pass.
#include <cstdint>
#include <string>
#include <vector>

#include "dockform/crypto/age.hpp"
#include "dockform/store/location.hpp"

namespace dockform::ops {

struct ExtractResult {
  std::uint64_t members = 0;     // written
  std::uint64_t bytes_read = 0;  // of the snapshot file
  std::uint64_t frames_read = 0;
  bool from_index = false;
};

// Writes the members at or below `paths` into the folder `output` (made when
// missing), at their paths below it as tar places them, with their metadata
// (owners when run as root); "-" writes them as a tar on standard output.
// A damaged frame: Error (Exit::refused, "checksum mismatch"), and the member
// being written is removed.
ExtractResult extract_snapshot(const store::Location& file, const std::vector<std::string>& paths,
                               const std::string& output, const std::vector<crypto::age::Identity>& identities = {});

}  // namespace dockform::ops
