#include "dockform/archive/checked_walk.hpp"

#include <limits>

#include "dockform/util/error.hpp"

namespace dockform::archive {

void checked_walk(const TarWalker::Source& source, OnUnsafe on_unsafe, WalkSummary& summary,
                  const CheckedUpTo& checked_up_to, const OnMember& on_member) {
  MemberSafety safety;
  // Where the last member's data ends.
  std::uint64_t last_member_end = 0;
  std::uint64_t data_offset_seen = 0;
  TarWalker walker([&] {
    auto block = source();
    summary.tar_bytes += block.size();
    return block;
  });
  auto inspect = [&](const TarEntry& entry, std::int64_t data_offset) {
    if (auto reason = safety.check(entry); !reason.empty()) {
      if (on_unsafe == OnUnsafe::refuse) throw Error("unsafe member in snapshot: " + reason, Exit::refused);
      summary.unsafe.push_back(reason);
    }
    // A sparse member's stored size is unknown here: its data is released
    // as it is read (data_read).
    data_offset_seen = static_cast<std::uint64_t>(data_offset);
    last_member_end = entry.data_end(data_offset).value_or(static_cast<std::uint64_t>(data_offset));
    if (checked_up_to) checked_up_to(last_member_end);
  };
  auto data_read = [&](std::int64_t consumed) {
    last_member_end = static_cast<std::uint64_t>(consumed);
    if (checked_up_to) checked_up_to(last_member_end);
  };
  // A member's headers start where the previous member's data ended.
  std::uint64_t header_offset = 0;
  while (auto entry = walker.next(inspect, data_read)) {
    ++summary.members;
    if (entry->counts_as_file()) ++summary.file_count;
    if (on_member) on_member(*entry, header_offset, data_offset_seen);
    header_offset = static_cast<std::uint64_t>(walker.consumed());
  }
  // The blocks after the marker belong to the file too (and to its checksum).
  if (checked_up_to) checked_up_to(std::numeric_limits<std::uint64_t>::max());
  for (auto block = source(); !block.empty(); block = source()) summary.tar_bytes += block.size();
  summary.truncated = summary.tar_bytes <= last_member_end;
}

SidecarMismatch compare_with_sidecar(const Sidecar& sidecar, const std::string& checksum, const WalkSummary& walk) {
  SidecarMismatch mismatch;
  if (sidecar.checksum != checksum) {
    mismatch.checksum = "checksum mismatch: sidecar says " + sidecar.checksum + ", the file has " + checksum;
  }
  auto differs = [&](const char* what, std::uint64_t recorded, std::uint64_t found) {
    // 0: not recorded (older sidecars).
    if (recorded == 0 || recorded == found) return;
    mismatch.counts.push_back(std::string(what) + " differs: sidecar says " + std::to_string(recorded) +
                              ", the archive holds " + std::to_string(found));
  };
  differs("uncompressed size", sidecar.uncompressed_bytes, walk.tar_bytes);
  differs("file count", sidecar.file_count, walk.file_count);
  return mismatch;
}

}  // namespace dockform::archive
