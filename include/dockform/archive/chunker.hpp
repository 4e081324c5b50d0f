#pragma once
// Content-defined cut points of a snapshot's tar stream (a FastCDC-style gear
// hash). Part of the snapshot format: the same bytes must cut at the same
// places in every dockform version, or unchanged data would stop giving
// unchanged frames. Everything that decides a cut is pinned here and by the
// golden vectors in tests/unit/test_seekable.cpp:
// - gear table: 256 values of SplitMix64 seeded with kGearSeed, in order;
// - hash: h = (h << 1) + gear[byte] (mod 2^64), reset to 0 at each chunk's
//   start, fed only from the byte at chunk position kMinChunk on;
// - a chunk ends after the byte whose hash has all bits of the mask clear:
//   mask_small (21 one-bits) while the chunk is shorter than kAvgChunk,
//   mask_large (19 one-bits) from there on (normalized chunking, level 1);
//   a mask of k bits sets bits 47 - floor(i * 48 / k) for i in [0, k), so a
//   cut depends on the last 48 bytes only;
// - a chunk of kMaxChunk bytes ends there; the stream's end ends the last one.
#include <array>
#include <cstddef>
#include <cstdint>

namespace dockform::archive {

inline constexpr std::size_t kMinChunk = 256 * 1024;
inline constexpr std::size_t kAvgChunk = 1024 * 1024;
inline constexpr std::size_t kMaxChunk = 4 * 1024 * 1024;
// "dockform" in ASCII.
inline constexpr std::uint64_t kGearSeed = 0x646f636b666f726dULL;

const std::array<std::uint64_t, 256>& gear_table();
// The mask with `bits` one-bits spread over bits 47..0, as described above.
std::uint64_t spread_mask(int bits);

class Chunker {
 public:
  struct Step {
    std::size_t taken = 0;  // bytes of the input that belong to the current chunk
    bool cut = false;       // the current chunk ends after them
  };
  // Looks at `data` (the stream's next bytes); after a cut, the next call
  // starts a new chunk with the bytes not taken.
  Step feed(const unsigned char* data, std::size_t size);
  // Bytes in the current (unfinished) chunk.
  std::size_t pending() const { return length_; }

 private:
  // Hashes the next `span` bytes with `mask`, adding what it took to `step`.
  void scan_into(const unsigned char* data, std::size_t span, std::uint64_t mask, Step& step);
  std::size_t length_ = 0;
  std::uint64_t hash_ = 0;
};

}  // namespace dockform::archive
