#pragma once
// Opens a snapshot for reading, from a local path or an s3://BUCKET/KEY URL.
#include <memory>
#include <string>

#include "dockform/archive/snapshot_file.hpp"

namespace dockform::store {

// Chunk size of the ranged GETs that stream an object.
inline constexpr std::size_t kS3ReadChunk = 8u << 20;

// Throws Error naming the file or object when it cannot be opened.
// "-" is standard input (or `stream_fd`), whose sidecar is `sidecar_file` (none when empty).
std::unique_ptr<archive::ByteSource> open_snapshot(const std::string& location, const std::string& sidecar_file = "",
                                                   int stream_fd = 0);

}  // namespace dockform::store
