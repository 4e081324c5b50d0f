#include "dockform/archive/chunker.hpp"

#include <algorithm>
#include <bit>

#include "dockform/util/error.hpp"

namespace dockform::archive {

namespace {
std::uint64_t splitmix64(std::uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::array<std::uint64_t, 256> make_gear_table() {
  std::array<std::uint64_t, 256> table{};
  std::uint64_t state = kGearSeed;
  for (auto& value : table) value = splitmix64(state);
  return table;
}
}  // namespace

const std::array<std::uint64_t, 256>& gear_table() {
  static const auto table = make_gear_table();
  return table;
}

std::uint64_t spread_mask(int bits) {
  std::uint64_t mask = 0;
  for (int i = 0; i < bits; ++i) mask |= std::uint64_t{1} << (47 - i * 48 / bits);
  return mask;
}

namespace {
// Feeds up to `span` bytes to the hash; returns how many it took: all of
// them, or up to and including the first whose hash has every bit of `mask`
// clear (then sets `cut`). Locals, not members, in the loop: the compiler
// keeps them in registers only when no store through the byte pointer might
// alias them.
std::size_t scan(const unsigned char* data, std::size_t span, std::uint64_t mask, std::uint64_t& hash, bool& cut) {
  const std::uint64_t* gear = gear_table().data();
  std::uint64_t h = hash;
  for (std::size_t i = 0; i < span; ++i) {
    h = (h << 1) + gear[data[i]];
    if ((h & mask) == 0) {
      hash = h;
      cut = true;
      return i + 1;
    }
  }
  hash = h;
  return span;
}
}  // namespace

void check_chunk_sizes(const ChunkSizes& sizes) {
  if (sizes.min < 64 * 1024 || sizes.min >= sizes.average || sizes.average >= sizes.max || sizes.max > kMaxChunk ||
      !std::has_single_bit(sizes.average)) {
    throw Error("chunk sizes " + std::to_string(sizes.min) + "/" + std::to_string(sizes.average) + "/" +
                    std::to_string(sizes.max) +
                    ": expected 64 KiB <= min < average < max <= 4 MiB, the average a "
                    "power of two",
                Exit::usage);
  }
}

Chunker::Chunker(ChunkSizes sizes)
    : sizes_(sizes),
      mask_small_(spread_mask(std::countr_zero(sizes.average) + 1)),
      mask_large_(spread_mask(std::countr_zero(sizes.average) - 1)) {
  check_chunk_sizes(sizes);
}

void Chunker::scan_into(const unsigned char* data, std::size_t span, std::uint64_t mask, Step& step) {
  std::size_t taken = scan(data, span, mask, hash_, step.cut);
  step.taken += taken;
  length_ += taken;
}

Chunker::Step Chunker::feed(const unsigned char* data, std::size_t size) {
  Step step;
  // The first `min` bytes of a chunk are not hashed: no cut can fall there.
  if (length_ < sizes_.min) {
    step.taken = std::min(size, sizes_.min - length_);
    length_ += step.taken;
  }
  // The small mask up to the byte that makes the chunk `average` long: that
  // one is the first tested against the large mask.
  if (step.taken < size && length_ < sizes_.average - 1) {
    scan_into(data + step.taken, std::min(size - step.taken, sizes_.average - 1 - length_), mask_small_, step);
  }
  if (!step.cut && step.taken < size) {
    scan_into(data + step.taken, std::min(size - step.taken, sizes_.max - length_), mask_large_, step);
    if (length_ == sizes_.max) step.cut = true;
  }
  if (step.cut) {
    length_ = 0;
    hash_ = 0;
  }
  return step;
}

}  // namespace dockform::archive
