#include "dockform/ops/verify.hpp"

#include "dockform/archive/sidecar.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/store/s3_client.hpp"
#include "dockform/store/snapshot_source.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::ops {

using archive::MemberSafety;
using archive::TarEntry;
using archive::TarWalker;

using archive::Sidecar;
using archive::SnapshotFormat;
using archive::SnapshotReader;
using archive::detect_format;
using archive::find_sidecar;
using archive::parse_sidecar;

namespace {
// Walks the whole archive, collecting problems instead of stopping at the
// first unsafe member; a damaged stream ends the walk.
void walk(SnapshotReader& reader, VerifyReport& report) {
  MemberSafety safety;
  std::optional<std::uint64_t> last_member_end = 0;
  try {
    TarWalker walker([&reader] { return reader.next_block(); });
    auto inspect = [&](const TarEntry& entry, std::int64_t data_offset) {
      if (auto reason = safety.check(entry); !reason.empty()) report.problems.push_back("unsafe member: " + reason);
      last_member_end = entry.data_end(data_offset);
    };
    while (auto entry = walker.next(inspect)) {
      ++report.members;
      if (entry->counts_as_file()) ++report.file_count;
    }
    while (!reader.next_block().empty()) {
    }
    if (last_member_end && reader.tar_bytes() <= *last_member_end) {
      report.problems.push_back("truncated: the tar end-of-archive marker is missing");
    }
  } catch (const util::Interrupted&) {
    throw;
  } catch (const store::S3Error&) {
    throw;  // the storage failed, not the snapshot
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    // Read the rest so the checksum still covers the whole file.
    try {
      while (!reader.next_block().empty()) {
      }
    } catch (const util::Interrupted&) {
      throw;
    } catch (const Error&) {
    }
  }
}

void compare_with_sidecar(const Sidecar& sidecar, VerifyReport& report) {
  if (sidecar.checksum != report.checksum) {
    report.problems.push_back("checksum mismatch: sidecar says " + sidecar.checksum + ", the file has " +
                              report.checksum);
  }
  if (sidecar.uncompressed_bytes != 0 && sidecar.uncompressed_bytes != report.uncompressed_bytes) {
    report.problems.push_back("uncompressed size differs: sidecar says " + std::to_string(sidecar.uncompressed_bytes) +
                              ", the archive holds " + std::to_string(report.uncompressed_bytes));
  }
  if (sidecar.file_count != 0 && sidecar.file_count != report.file_count) {
    report.problems.push_back("file count differs: sidecar says " + std::to_string(sidecar.file_count) +
                              ", the archive holds " + std::to_string(report.file_count));
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
  walk(reader, report);
  progress.finish();
  report.checksum = reader.checksum();
  report.bytes_read = reader.bytes_read();
  report.uncompressed_bytes = reader.tar_bytes();
  if (sidecar) compare_with_sidecar(*sidecar, report);
  return report;
}

}  // namespace dockform::ops
