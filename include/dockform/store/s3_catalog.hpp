#pragma once
// The snapshots in a bucket, laid out as on disk: PREFIX/<volume>/<stem>.tar.zst + <stem>.json.
#include <filesystem>
#include <string>
#include <vector>

#include "dockform/store/catalog.hpp"
#include "dockform/store/s3_client.hpp"

namespace dockform::store {

std::vector<CatalogEntry> list_volume_s3(const S3Url& base, const std::string& volume);
std::vector<CatalogEntry> list_all_s3(const S3Url& base);
// Deletes a snapshot file: a local path or an s3:// URL.
void remove_snapshot_file(const std::filesystem::path& file);

}  // namespace dockform::store
