// `volume verify` of a seekable snapshot's trailers: the index and the seek
// table against the data a full pass has just read.
#include "dockform/archive/seekable.hpp"
#include "dockform/ops/verify.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/error.hpp"

namespace dockform::ops {

namespace {
// The index's members against the walk's: same names, same offsets.
void compare_members(const std::vector<archive::Member>& indexed, const std::vector<archive::Member>& walked,
                     VerifyReport& report) {
  if (indexed.size() != walked.size()) {
    report.problems.push_back("snapshot index lists " + std::to_string(indexed.size()) +
                              " members, the archive holds " + std::to_string(walked.size()));
    return;
  }
  for (std::size_t i = 0; i < indexed.size(); ++i) {
    const auto& a = indexed[i];
    const auto& b = walked[i];
    if (a.path != b.path || a.header_offset != b.header_offset || a.data_offset != b.data_offset || a.type != b.type ||
        a.size != b.size || a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.mtime != b.mtime ||
        a.target != b.target) {
      report.problems.push_back("snapshot index differs from the archive at member " + b.path);
      return;
    }
  }
}

// Every frame: its compressed bytes are one zstd frame of the size the seek
// table gives, whose content has the index's SHA-256.
void check_frames(archive::RandomAccess& file, const archive::SeekableIndex& index, VerifyReport& report) {
  for (std::size_t i = 0; i < index.frames.size(); ++i) {
    try {
      archive::read_frame(file, index, i);
    } catch (const Error& e) {
      report.problems.push_back(e.what());
      return;
    }
  }
}
}  // namespace

void verify_seekable(const store::Location& path, const std::vector<archive::Member>& walked,
                     const std::optional<std::string>& index_sha256, VerifyReport& report) {
  std::optional<archive::SeekableIndex> index;
  try {
    auto ranges = store::open_random_access(path);
    if (!ranges) return;
    auto& file = *ranges;
    index = archive::read_seekable_index(file);
    if (!index) {
      if (index_sha256) report.problems.push_back("the sidecar records an index, the file has none");
      return;
    }
    report.seekable_frames = index->frames.size();
    if (index_sha256 && *index_sha256 != index->index_sha256) {
      report.problems.push_back("checksum mismatch: sidecar says " + *index_sha256 + " for the index, the file has " +
                                index->index_sha256);
    }
    if (index->tar_bytes != report.uncompressed_bytes) {
      report.problems.push_back("the seek table's frames hold " + std::to_string(index->tar_bytes) +
                                " bytes of tar, the archive has " + std::to_string(report.uncompressed_bytes));
    }
    if (path.is_local()) check_frames(file, *index, report);
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return;
  }
  compare_members(index->members, walked, report);
}

}  // namespace dockform::ops
