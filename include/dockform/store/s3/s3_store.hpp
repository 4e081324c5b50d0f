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

}  // namespace dockform::store
