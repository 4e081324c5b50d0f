#pragma once
// The standard streams as a place for one snapshot: `snapshot -o -` writes
// to standard output, `restore VOLUME -` reads standard input. Nothing is
// named or kept there, so there is no listing and nothing to remove.
#include <ctime>
#include <memory>
#include <string>

#include "dockform/archive/snapshot_file.hpp"
#include "dockform/store/snapshot_sink.hpp"

namespace dockform::store {

// `-o -`: the data goes to `fd` as it comes (nothing can be taken back, so a
// failed run leaves its reader a cut stream, which restore refuses); the
// sidecar to `sidecar_file` (replaced atomically) when one is given.
std::unique_ptr<SnapshotSink> open_stream_sink(int fd, const std::string& sidecar_file, std::time_t start,
                                               const std::string& extension);

// `restore VOLUME -`: the snapshot read from `fd`; its sidecar is `sidecar_file` (none when empty).
std::unique_ptr<archive::ByteSource> open_stream_source(const std::string& sidecar_file, int fd);

}  // namespace dockform::store
