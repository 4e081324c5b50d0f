#pragma once
// Content-defined cut points of a snapshot's tar stream (a FastCDC-style gear
// hash). Part of the snapshot format: the same bytes must cut at the same
// places in every dockform version, or unchanged data would stop giving
// unchanged frames. Everything that decides a cut is pinned here and by the
// golden vectors in tests/unit/test_seekable.cpp:
// - gear table: 256 values of SplitMix64 seeded with kGearSeed, in order;
// - hash: h = (h << 1) + gear[byte] (mod 2^64), reset to 0 at each chunk's
//   start, fed only from the byte at chunk position `min` on;
// - a chunk ends after the byte whose hash has all bits of the mask clear:
//   mask_small (log2(average) + 1 one-bits, 21 for 1 MiB) while the chunk is
//   shorter than the average, mask_large (log2(average) - 1, 19 for 1 MiB)
//   from there on (normalized chunking, level 1);
//   a mask of k bits sets bits 47 - floor(i * 48 / k) for i in [0, k), so a
//   cut depends on the last 48 bytes only;
// - a chunk of the maximum size ends there; the stream's end ends the last one.
// Sizes: kFileChunks (256 KiB / 1 MiB / 4 MiB) for snapshot files, kRepoChunks
// (64 KiB / 256 KiB / 1 MiB) in repositories made since 2026-12, which record
// theirs in their config: a change scattered over small files costs a quarter
// of the frame there (docs/storage.md, "Frame sizes").
#include <array>
#include <cstddef>
#include <cstdint>

namespace dockform::archive {

struct ChunkSizes {
  std::size_t min = 0;
  std::size_t average = 0;  // a power of two
  std::size_t max = 0;
  bool operator==(const ChunkSizes&) const = default;
};
inline constexpr ChunkSizes kFileChunks{256 * 1024, 1024 * 1024, 4 * 1024 * 1024};
inline constexpr ChunkSizes kRepoChunks{64 * 1024, 256 * 1024, 1024 * 1024};
// What readers accept (the seek table's check): no frame holds more.
inline constexpr std::size_t kMaxChunk = 4 * 1024 * 1024;
// Throws Error (usage) unless 64 KiB <= min < average < max <= kMaxChunk and
// the average is a power of two.
void check_chunk_sizes(const ChunkSizes& sizes);
// "dockform" in ASCII.
inline constexpr std::uint64_t kGearSeed = 0x646f636b666f726dULL;

const std::array<std::uint64_t, 256>& gear_table();
// The mask with `bits` one-bits spread over bits 47..0, as described above.
std::uint64_t spread_mask(int bits);

class Chunker {
 public:
  explicit Chunker(ChunkSizes sizes = kFileChunks);
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
  ChunkSizes sizes_;
  std::uint64_t mask_small_;
  std::uint64_t mask_large_;
  std::size_t length_ = 0;
  std::uint64_t hash_ = 0;
};

}  // namespace dockform::archive
