// The seekable snapshot's trailers (docs/snapshot-format.md): any bytes give
// an index, nullopt (no seek table) or a dockform::Error; an index that
// parses is consistent (members within the tar stream, frames adding up),
// and reading its frames gives their bytes or a checksum mismatch.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dockform/archive/seekable.hpp"
#include "dockform/util/error.hpp"

namespace {
void check(const dockform::archive::SeekableIndex& index) {
  std::uint64_t tar = 0;
  for (const auto& frame : index.frames) {
    if (frame.tar_offset != tar) std::abort();
    tar += frame.decompressed;
  }
  if (tar != index.tar_bytes) std::abort();
  for (const auto& member : index.members) {
    if (member.header_offset > member.end_offset || member.end_offset > index.tar_bytes) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dockform::archive::MemoryFile file(std::string(reinterpret_cast<const char*>(data), size));
  try {
    auto index = dockform::archive::read_seekable_index(file);
    if (!index) return 0;
    check(*index);
    // The frames a member's bytes span, as extract finds them.
    for (const auto& member : index->members) {
      if (member.header_offset < index->tar_bytes) dockform::archive::frame_at(index->frames, member.header_offset);
    }
    for (std::size_t i = 0; i < index->frames.size() && i < 8; ++i) {
      try {
        dockform::archive::read_frame(file, *index, i);
      } catch (const dockform::Error&) {
      }
    }
  } catch (const dockform::Error&) {
  }
  return 0;
}
