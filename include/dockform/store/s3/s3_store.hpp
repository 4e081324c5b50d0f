#pragma once
// The snapshots in a bucket, laid out as on disk: PREFIX/<volume>/<stem>.tar.zst + <stem>.json.
#include <memory>
#include <string>
#include <string_view>

#include "dockform/store/store.hpp"

namespace dockform::store {

// s3://BUCKET[/PREFIX] as Location keeps it (no trailing slash); throws Error (usage) when malformed.
std::string normalize_s3_url(std::string_view text);
// Makes its client (and checks the bucket) when first asked for something.
std::unique_ptr<Store> open_s3_store(const Location& base);
// Checks the environment's settings of an S3 sink (DOCKFORM_S3_ABANDONED_AFTER);
// throws Error (usage) naming a bad one.
void check_s3_sink_settings();

}  // namespace dockform::store
