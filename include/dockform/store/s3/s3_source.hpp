#pragma once
// Reads a snapshot object of an S3 bucket.
#include <cstddef>
#include <memory>

#include "dockform/archive/seekable.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/store/location.hpp"

namespace dockform::store {

// Chunk size of the ranged GETs that stream an object.
inline constexpr std::size_t kS3ReadChunk = 8u << 20;

// `file` is s3://BUCKET/KEY; throws Error naming it when it cannot be opened.
std::unique_ptr<archive::ByteSource> open_s3_snapshot(const Location& file);
// The same object for reads at random offsets (ranged GETs).
std::unique_ptr<archive::RandomAccess> open_s3_random_access(const Location& file);

}  // namespace dockform::store
