#include "dockform/ops/verify.hpp"

#include <spdlog/spdlog.h>

#include "dockform/archive/checked_walk.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/store/s3_client.hpp"
#include "dockform/store/snapshot_source.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::ops {

using archive::OnUnsafe;
using archive::Sidecar;
using archive::SnapshotFormat;
using archive::SnapshotReader;
using archive::checked_walk;
using archive::detect_format;
using archive::find_sidecar;
using archive::parse_sidecar;

namespace {
// Walks the whole archive, collecting problems instead of stopping at the
// first unsafe member; a damaged stream ends the walk.
void walk(SnapshotReader& reader, VerifyReport& report, archive::WalkSummary& summary) {
  std::optional<std::string> damage;
  try {
    checked_walk([&reader] { return reader.next_block(); }, OnUnsafe::collect, summary);
  } catch (const store::S3Error&) {
    throw;  // the storage failed, not the snapshot
  } catch (const Error& e) {
    damage = e.what();
    // Hash the rest as it is, so the checksum still covers the whole file.
    try {
      reader.checksum_of_whole_file();
    } catch (const Error& again) {
      // The first error is already reported as the damage; this one adds nothing.
      spdlog::debug("verify: hashing the rest after the damage failed too: {}", again.what());
    }
  }
  for (const auto& reason : summary.unsafe) report.problems.push_back("unsafe member: " + reason);
  if (damage) {
    report.problems.push_back(*damage);
  } else if (summary.truncated) {
    report.problems.push_back("truncated: the tar end-of-archive marker is missing");
  }
}
}  // namespace

VerifyReport verify_snapshot(const std::filesystem::path& file) {
  VerifyReport report;
  report.snapshot = file;
  SnapshotFormat format;
  std::unique_ptr<archive::ByteSource> source;
  try {
    source = store::open_snapshot(file.string());
    format = detect_format(*source);
  } catch (const store::S3Error&) {
    throw;  // the bucket could not be read: not a verdict on the snapshot
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return report;
  }
  report.format = format == SnapshotFormat::tar_zst ? "tar.zst" : "tar";
  std::optional<Sidecar> sidecar;
  if (auto found = find_sidecar(*source)) {
    report.sidecar_file = found->location;
    try {
      sidecar = parse_sidecar(found->text, found->location);
    } catch (const Error& e) {
      report.problems.push_back(e.what());
    }
  } else {
    report.warnings.push_back("no sidecar: the checksum cannot be compared");
  }
  util::Progress progress("verify " + file.filename().string(), source->size());
  SnapshotReader reader(*source, format, [&progress](std::uint64_t read) { progress.update(read); });
  archive::WalkSummary summary;
  walk(reader, report, summary);
  progress.finish();
  report.members = summary.members;
  report.file_count = summary.file_count;
  report.checksum = reader.checksum();
  report.bytes_read = reader.bytes_read();
  report.uncompressed_bytes = reader.tar_bytes();
  summary.tar_bytes = reader.tar_bytes();
  if (sidecar) {
    auto mismatch = archive::compare_with_sidecar(*sidecar, report.checksum, summary);
    // Whatever layer noticed the damage first (zstd, tar), its name is this: first.
    if (mismatch.checksum) report.problems.insert(report.problems.begin(), *mismatch.checksum);
    for (auto& text : mismatch.counts) report.problems.push_back(text);
  }
  return report;
}

}  // namespace dockform::ops
