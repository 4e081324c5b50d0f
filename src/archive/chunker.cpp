#include "dockform/archive/chunker.hpp"

#include <algorithm>

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

const std::uint64_t kMaskSmall = spread_mask(21);
const std::uint64_t kMaskLarge = spread_mask(19);
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

Chunker::Step Chunker::feed(const unsigned char* data, std::size_t size) {
  Step step;
  // The first kMinChunk bytes of a chunk are not hashed: no cut can fall there.
  if (length_ < kMinChunk) {
    step.taken = std::min(size, kMinChunk - length_);
    length_ += step.taken;
  }
  const auto& gear = gear_table();
  while (step.taken < size) {
    hash_ = (hash_ << 1) + gear[data[step.taken]];
    ++step.taken;
    ++length_;
    std::uint64_t mask = length_ < kAvgChunk ? kMaskSmall : kMaskLarge;
    if ((hash_ & mask) == 0 || length_ == kMaxChunk) {
      step.cut = true;
      length_ = 0;
      hash_ = 0;
      break;
    }
  }
  return step;
}

}  // namespace dockform::archive
