// FrameWriter::splice: a stream whose unchanged parts come from an earlier
// snapshot's frames must give the bytes that writing it whole gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "dockform/archive/frame_writer.hpp"

namespace dockform::archive::splice_test {

// Random bytes with runs of zeros: frames of every size, some at the maximum.
std::string sample_stream(std::size_t size, unsigned seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (std::size_t at = 0; at < size; at += 8) {
    std::uint64_t value = random();
    for (std::size_t i = 0; i < 8 && at + i < size; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
  }
  const std::size_t zeros = std::min<std::size_t>(1'500'000, size / 3);
  std::fill_n(bytes.begin() + static_cast<long>(size / 3), zeros, '\0');
  return bytes;
}

struct Written {
  std::string file;
  SeekableIndex index;
};

// An earlier snapshot held in memory.
class MemoryEarlier : public EarlierFrames {
 public:
  MemoryEarlier(const std::string& tar, const Written& written) : tar_(tar), written_(written) {}
  const std::vector<Frame>& frames() const override { return written_.index.frames; }
  std::string stored(std::size_t number, std::string& id) override {
    id.clear();
    ++stored_reads;
    const auto& frame = frames().at(number);
    return written_.file.substr(frame.file_offset, frame.compressed);
  }
  std::string tar_bytes(std::size_t number) override {
    ++tar_reads;
    const auto& frame = frames().at(number);
    return tar_.substr(frame.tar_offset, frame.decompressed);
  }
  int stored_reads = 0;
  int tar_reads = 0;

 private:
  const std::string& tar_;
  const Written& written_;
};

// A part of the new stream: new bytes, or the earlier stream's [begin, end).
struct Part {
  std::string bytes;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

Written write_parts(const std::vector<Part>& parts, int threads, MemoryEarlier* earlier, std::uint64_t* spliced) {
  Written written;
  FrameWriter writer(
      3, threads, [&](const char* data, std::size_t size) { written.file.append(data, size); }, kRepoChunks);
  for (const auto& part : parts) {
    if (earlier && part.bytes.empty()) {
      writer.splice(*earlier, part.begin, part.end);
    } else {
      writer.write(part.bytes.data(), part.bytes.size());
    }
  }
  written.index = writer.finish({}, 0);
  if (spliced) *spliced = writer.spliced_frames();
  return written;
}

// The same parts with every earlier range written out as bytes.
std::vector<Part> as_bytes(std::vector<Part> parts, const std::string& earlier) {
  for (auto& part : parts) {
    if (part.bytes.empty()) part.bytes = earlier.substr(part.begin, part.end - part.begin);
  }
  return parts;
}

class Splice : public ::testing::TestWithParam<int> {};

TEST_P(Splice, GivesTheBytesOfAWholeWrite) {
  const int threads = GetParam();
  const std::string old_tar = sample_stream(9'000'000, 1);
  const Written old_file = write_parts({{old_tar}}, threads, nullptr, nullptr);
  ASSERT_GT(old_file.index.frames.size(), 20u);
  const std::string fresh = sample_stream(70'000, 2);
  // From the start; a change in the middle; a range that starts and ends
  // inside frames; a deletion; the rest up to the end.
  std::vector<Part> parts = {{"", 0, 2'000'000},         {fresh},
                             {"", 2'000'100, 5'000'000}, {"", 5'300'000, 5'310'000},
                             {fresh.substr(0, 512)},     {"", 6'000'000, old_tar.size()}};
  MemoryEarlier earlier(old_tar, old_file);
  std::uint64_t spliced = 0;
  const Written made = write_parts(parts, threads, &earlier, &spliced);
  const Written whole = write_parts(as_bytes(parts, old_tar), threads, nullptr, nullptr);
  EXPECT_EQ(made.file, whole.file);
  EXPECT_EQ(made.index.index_sha256, whole.index.index_sha256);
  // Most frames taken as stored; tar bytes read only around the changes.
  EXPECT_GT(spliced, old_file.index.frames.size() / 2);
  EXPECT_EQ(earlier.stored_reads, static_cast<int>(spliced));
  EXPECT_LT(earlier.tar_reads, 16);
}

TEST_P(Splice, OfAnUnchangedStreamTakesEveryFrameButTheLast) {
  const int threads = GetParam();
  const std::string old_tar = sample_stream(3'000'000, 3);
  const Written old_file = write_parts({{old_tar}}, threads, nullptr, nullptr);
  MemoryEarlier earlier(old_tar, old_file);
  std::uint64_t spliced = 0;
  const Written made = write_parts({{"", 0, old_tar.size()}}, threads, &earlier, &spliced);
  EXPECT_EQ(made.file, old_file.file);
  EXPECT_EQ(spliced, old_file.index.frames.size() - 1);
  EXPECT_EQ(earlier.tar_reads, 1);
}

INSTANTIATE_TEST_SUITE_P(Workers, Splice, ::testing::Values(0, 1, 2));

}  // namespace dockform::archive::splice_test
