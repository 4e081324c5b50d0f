#pragma once
// A snapshot streamed to an S3 bucket as a multipart upload.
#include <ctime>
#include <memory>
#include <string>

#include "dockform/store/s3/s3_client.hpp"
#include "dockform/store/snapshot_sink.hpp"

namespace dockform::store {

// Part size and the number of parts queued for upload bound the memory used.
inline constexpr std::size_t kS3PartSize = 8u << 20;
inline constexpr std::size_t kS3PartsQueued = 1;

// Aborts, under `prefix`, the multipart uploads of snapshot data (*.tar.zst, *.tar.zst.age) started more than
// `older_than` seconds ago (uploads a killed run left; a live run's upload is
// younger). Returns how many were aborted.
int abort_stale_uploads(S3Client& client, const std::string& prefix, std::time_t older_than);

// The age past which an unfinished upload is taken as abandoned:
// DOCKFORM_S3_ABANDONED_AFTER seconds, default 24 hours. Throws Error
// (usage) when the variable is set to anything but a whole number of seconds.
std::time_t abandoned_upload_age();

std::unique_ptr<SnapshotSink> open_s3_sink(const S3Url& base, const std::string& volume, std::time_t start,
                                           const std::string& spec_hash, const std::string& extension);

}  // namespace dockform::store
