#pragma once
// `volume export`: a snapshot written out as the standalone file it is, above
// all a repository's snapshot, reassembled from its frames.
#include <cstdint>
#include <string>

#include "dockform/store/location.hpp"

namespace dockform::ops {

struct ExportResult {
  std::string snapshot;
  std::string output;  // the file written, or "-"
  std::string sha256;  // of the bytes written
  std::uint64_t bytes = 0;
  bool checked = false;  // compared with the sidecar's checksum (none without a sidecar)
};

// Writes `file`'s bytes to `output` (a new file: never replaced; "-": to
// `stdout_fd`). Throws Error (refused, "checksum mismatch") when they differ
// from the sidecar's checksum: a file is then removed again, a stream is cut.
ExportResult export_snapshot(const store::Location& file, const std::string& output, int stdout_fd = 1);

}  // namespace dockform::ops
