// The seekable snapshot format: the pinned chunker (golden vectors: these
// cut points must never move), the frame writer, the index and seek table,
// and their reader.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <bitset>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dockform/archive/age_file.hpp"
#include "dockform/archive/chunker.hpp"
#include "dockform/archive/frame_writer.hpp"
#include "dockform/archive/seekable.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"
#include "test_support.hpp"

namespace dockform::archive {
namespace {

using test::random_bytes;

// The chunk lengths of `data` fed in pieces of `piece` bytes.
std::vector<std::size_t> chunk_lengths(const std::string& data, std::size_t piece, ChunkSizes sizes = kFileChunks) {
  Chunker chunker(sizes);
  std::vector<std::size_t> lengths;
  std::size_t current = 0;
  for (std::size_t at = 0; at < data.size(); at += piece) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data()) + at;
    std::size_t size = std::min(piece, data.size() - at);
    while (size > 0) {
      auto step = chunker.feed(bytes, size);
      current += step.taken;
      bytes += step.taken;
      size -= step.taken;
      if (step.cut) lengths.push_back(std::exchange(current, 0));
    }
  }
  if (current > 0) lengths.push_back(current);
  return lengths;
}

TEST(SeekableChunker, GearTableComesFromTheDocumentedSeed) {
  const auto& gear = gear_table();
  // SplitMix64 seeded with "dockform": pinned, part of the format.
  // Values computed by an independent Python implementation of the rule.
  EXPECT_EQ(gear[0], 0x5a6d39a2f9640e35ULL);
  EXPECT_EQ(gear[1], 0xfa8a125482677d9fULL);
  EXPECT_EQ(gear[255], 0xaa0f10871d567052ULL);
}

TEST(SeekableChunker, MasksSpreadTheirBitsUpToBit47) {
  EXPECT_EQ(std::bitset<64>(spread_mask(21)).count(), 21u);
  EXPECT_EQ(std::bitset<64>(spread_mask(19)).count(), 19u);
  EXPECT_EQ(spread_mask(21) >> 47, 1u);
  EXPECT_EQ(spread_mask(19) >> 47, 1u);
  EXPECT_EQ(spread_mask(21), 0xaa54aa54aa54ULL);
  EXPECT_EQ(spread_mask(19), 0xa5294a5294a4ULL);
}

TEST(SeekableChunker, GoldenCutPointsOfRandomBytes) {
  // std::mt19937 is specified by the standard: the same input everywhere.
  auto data = random_bytes(24u << 20, 33);
  // Computed by an independent Python implementation of the rule in chunker.hpp.
  std::vector<std::size_t> golden = {960946,  1284138, 1478858, 365778,  400299, 1898350, 1100726, 352697,
                                     1357467, 1046225, 1474024, 1848084, 285006, 2143291, 1243214, 269849,
                                     1667632, 940732,  1282884, 1295781, 921942, 925469,  622432};
  EXPECT_EQ(chunk_lengths(data, 1u << 20), golden);
}

TEST(SeekableChunker, CutsDoNotDependOnHowTheBytesArrive) {
  auto data = random_bytes(9u << 20, 7);
  auto whole = chunk_lengths(data, data.size());
  EXPECT_EQ(chunk_lengths(data, 4096), whole);
  EXPECT_EQ(chunk_lengths(data, 1000003), whole);
  EXPECT_GT(whole.size(), 3u);
}

TEST(SeekableChunker, SizesStayWithinMinAndMax) {
  auto data = random_bytes(20u << 20, 5) + std::string(9u << 20, '\0');
  for (auto sizes : {kFileChunks, kRepoChunks}) {
    auto lengths = chunk_lengths(data, 65536, sizes);
    std::size_t random_chunks = 0;
    std::size_t offset = 0;
    for (std::size_t i = 0; i + 1 < lengths.size(); ++i) {
      EXPECT_GE(lengths[i], sizes.min);
      EXPECT_LE(lengths[i], sizes.max);
      if (offset < (20u << 20)) ++random_chunks;
      offset += lengths[i];
    }
    // Zeros never match the masks: the run is cut at the maximum.
    EXPECT_EQ(lengths[lengths.size() - 2], sizes.max);
    // Random bytes: about `average` a chunk (20 MiB: 20 or 80 of them).
    const auto expected = (20u << 20) / sizes.average;
    EXPECT_GT(random_chunks, expected * 2 / 3) << sizes.average;
  }
}

TEST(SeekableChunker, RefusesSizesNoReaderTakes) {
  for (ChunkSizes bad : {ChunkSizes{32 << 10, 256 << 10, 1 << 20}, ChunkSizes{64 << 10, 300 << 10, 1 << 20},
                         ChunkSizes{256 << 10, 256 << 10, 1 << 20}, ChunkSizes{64 << 10, 1 << 20, 8 << 20}}) {
    test::expect_error([&] { Chunker chunker(bad); }, Exit::usage, "chunk sizes");
  }
}

// The rule in chunker.hpp one byte at a time, as plainly as it reads: what
// the Chunker's faster loop must agree with on every input.
std::vector<std::size_t> reference_chunk_lengths(const std::string& data, ChunkSizes sizes = kFileChunks) {
  std::vector<std::size_t> lengths;
  const auto& gear = gear_table();
  // log2(average) + 1 and - 1 one-bits: 21 and 19 for 1 MiB, 19 and 17 for 256 KiB.
  const int bits = sizes == kFileChunks ? 20 : 18;
  std::size_t start = 0;
  while (start < data.size()) {
    std::uint64_t hash = 0;
    std::size_t length = std::min(sizes.min, data.size() - start);
    while (start + length < data.size()) {
      hash = (hash << 1) + gear[static_cast<unsigned char>(data[start + length])];
      ++length;
      std::uint64_t mask = length < sizes.average ? spread_mask(bits + 1) : spread_mask(bits - 1);
      if ((hash & mask) == 0 || length == sizes.max) break;
    }
    lengths.push_back(length);
    start += length;
  }
  return lengths;
}

TEST(SeekableChunker, AgreesWithTheRuleByteByByte) {
  // Random bytes (cuts by the masks), zeros (cuts at the maximum) and text
  // (long chunks, past the average), fed in uneven pieces.
  std::string text;
  for (std::uint64_t i = 0; text.size() < (6u << 20); ++i)
    text += "line " + std::to_string(i * 7919 % 100003) + " of a log\n";
  auto data = random_bytes(6u << 20, 21) + std::string(5u << 20, '\0') + text + random_bytes(3u << 20, 22);
  auto expected = reference_chunk_lengths(data);
  EXPECT_GT(expected.size(), 8u);
  EXPECT_EQ(chunk_lengths(data, data.size()), expected);
  EXPECT_EQ(chunk_lengths(data, 7777), expected);
  EXPECT_EQ(chunk_lengths(data, 262144), expected);
  auto repo = reference_chunk_lengths(data, kRepoChunks);
  EXPECT_GT(repo.size(), expected.size() * 2);
  EXPECT_EQ(chunk_lengths(data, 7777, kRepoChunks), repo);
}

TEST(SeekableChunker, AnInsertionMovesOnlyTheCutsNearIt) {
  auto data = random_bytes(12u << 20, 11);
  auto edited = data;
  edited.insert(100000, "a few inserted bytes");
  auto before = chunk_lengths(data, 65536);
  auto after = chunk_lengths(edited, 65536);
  ASSERT_EQ(before.size(), after.size());
  EXPECT_EQ(after[0], before[0] + 20);
  for (std::size_t i = 1; i < before.size(); ++i) EXPECT_EQ(after[i], before[i]) << i;
}

// A pax tar made in memory, as the helper makes them: "./"-named members.
class TarBuilder {
 public:
  TarBuilder() : archive_(archive_write_new()) {
    archive_write_set_format_pax(archive_);
    archive_write_open(archive_, this, nullptr, &TarBuilder::append, nullptr);
  }
  ~TarBuilder() { archive_write_free(archive_); }
  TarBuilder& add(const std::string& path, const std::string& data, int mode = 0644) {
    return add_entry(path, AE_IFREG, mode, data, "");
  }
  TarBuilder& folder(const std::string& path) { return add_entry(path, AE_IFDIR, 0755, "", ""); }
  TarBuilder& symlink(const std::string& path, const std::string& target) {
    return add_entry(path, AE_IFLNK, 0777, "", target);
  }
  std::string finish() {
    archive_write_close(archive_);
    return bytes_;
  }

 private:
  static la_ssize_t append(struct archive*, void* self, const void* data, std::size_t size) {
    static_cast<TarBuilder*>(self)->bytes_.append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
  }
  TarBuilder& add_entry(const std::string& path, unsigned type, int mode, const std::string& data,
                        const std::string& target) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, path.c_str());
    archive_entry_set_filetype(entry, type);
    archive_entry_set_perm(entry, static_cast<mode_t>(mode));
    archive_entry_set_uid(entry, 1000);
    archive_entry_set_gid(entry, 100);
    archive_entry_set_mtime(entry, 1700000000, 123456789);
    archive_entry_set_size(entry, static_cast<la_int64_t>(data.size()));
    if (!target.empty()) archive_entry_set_symlink(entry, target.c_str());
    archive_write_header(archive_, entry);
    if (!data.empty()) archive_write_data(archive_, data.data(), data.size());
    archive_entry_free(entry);
    return *this;
  }
  struct archive* archive_;
  std::string bytes_;
};

// A tar with enough random data for several frames.
std::string sample_tar() {
  return TarBuilder()
      .folder("./")
      .folder("./etc")
      .add("./etc/app.conf", "setting = 1\n", 0600)
      .add("./etc/big.bin", random_bytes(5u << 20, 3))
      .symlink("./etc/link", "app.conf")
      .folder("./var")
      .add("./var/" + std::string(120, 'n'), "long name\n")
      .add("./var/more.bin", random_bytes(3u << 20, 4))
      .finish();
}

// The members of `tar` with their offsets, as the snapshot records them.
std::vector<Member> members_of(const std::string& tar, std::uint64_t& members_end) {
  bool given = false;
  TarWalker walker([&]() -> std::string_view {
    if (given) return {};
    given = true;
    return tar;
  });
  std::vector<Member> members;
  std::uint64_t header = 0;
  std::int64_t data = 0;
  while (auto entry = walker.next([&](const TarEntry&, std::int64_t offset) { data = offset; })) {
    members.push_back(member_of(*entry, header, static_cast<std::uint64_t>(data)));
    header = static_cast<std::uint64_t>(walker.consumed());
  }
  members_end = header;
  return members;
}

// `tar` written in the seekable format; `threads` compression workers.
std::string seekable_of(const std::string& tar, int threads, std::string* index_sha256 = nullptr,
                        FrameReuse reuse = {}) {
  std::string out;
  FrameWriter writer(
      3, threads, [&](const char* data, std::size_t size) { out.append(data, size); }, kFileChunks, std::move(reuse));
  for (std::size_t at = 0; at < tar.size(); at += 100000)
    writer.write(tar.data() + at, std::min<std::size_t>(100000, tar.size() - at));
  std::uint64_t end = 0;
  auto members = members_of(tar, end);
  const auto& index = writer.finish(std::move(members), end);
  if (index_sha256) *index_sha256 = index.index_sha256;
  return out;
}

// Everything `zstd -dc` would give.
std::string decompress_all(const std::string& file) {
  bool given = false;
  util::ZstdReader reader([&]() -> std::string_view {
    if (given) return {};
    given = true;
    return file;
  });
  std::string out;
  for (auto part = reader.read(); !part.empty(); part = reader.read()) out += part;
  return out;
}

TEST(SeekableFormat, DecompressesToTheTarStream) {
  auto tar = sample_tar();
  auto file = seekable_of(tar, 2);
  EXPECT_EQ(decompress_all(file), tar);
}

TEST(SeekableFormat, ThreadsDoNotChangeTheBytes) {
  auto tar = sample_tar();
  EXPECT_EQ(seekable_of(tar, 0), seekable_of(tar, 1));
  EXPECT_EQ(seekable_of(tar, 0), seekable_of(tar, 2));
  EXPECT_EQ(seekable_of(tar, 2), seekable_of(tar, 3));
}

// Frames an earlier snapshot made, taken as they are for the chunks whose
// SHA-256 and size they were made from: the file is byte for byte the one
// compressing gives; a frame offered for another size is not taken.
TEST(SeekableFormat, ReusedFramesGiveTheSameBytes) {
  auto tar = sample_tar();
  auto file = seekable_of(tar, 0);
  MemoryFile earlier(file);
  auto index = read_seekable_index(earlier);
  ASSERT_TRUE(index && index->frames.size() > 2);
  std::map<std::string, std::pair<std::size_t, std::string>> made;  // by SHA-256: tar size, frame bytes
  for (const auto& frame : index->frames) {
    made[frame.sha256] = {frame.decompressed, file.substr(frame.file_offset, frame.compressed)};
  }
  for (int threads : {0, 2}) {
    std::mutex mutex;
    std::size_t taken = 0;
    auto reuse = [&](const std::string& sha256, std::size_t size, std::string& compressed, std::string&) {
      std::lock_guard lock(mutex);
      auto found = made.find(sha256);
      if (found == made.end() || found->second.first != size) return false;
      compressed = found->second.second;
      ++taken;
      return true;
    };
    EXPECT_EQ(seekable_of(tar, threads, nullptr, reuse), file) << threads << " workers";
    EXPECT_EQ(taken, index->frames.size()) << threads << " workers: every frame taken";
  }
  // Offered for another size (or not at all), a frame is compressed anew.
  std::size_t asked = 0;
  auto wrong = [&](const std::string&, std::size_t, std::string& compressed, std::string&) {
    ++asked;
    compressed = "not a frame";
    return false;
  };
  EXPECT_EQ(seekable_of(tar, 1, nullptr, wrong), file);
  EXPECT_EQ(asked, index->frames.size());
}

// The workers' buffers go round: a sink that fails mid-stream ends the
// writer with its error, and the pool still stops and frees every buffer
// (the sanitizer build checks the latter).
TEST(SeekableFormat, ASinkThatFailsEndsTheWriter) {
  auto tar = sample_tar();
  for (int threads : {0, 1, 2}) {
    int calls = 0;
    std::string out;
    auto write_all = [&] {
      FrameWriter writer(3, threads, [&](const char* data, std::size_t size) {
        if (++calls == 2) throw Error("disk full");
        out.append(data, size);
      });
      for (std::size_t at = 0; at < tar.size(); at += 100000)
        writer.write(tar.data() + at, std::min<std::size_t>(100000, tar.size() - at));
      std::uint64_t end = 0;
      writer.finish(members_of(tar, end), end);
    };
    EXPECT_THROW(write_all(), Error) << threads << " workers";
    EXPECT_EQ(calls, 2) << threads << " workers: no frame delivered after the failure";
  }
}

TEST(SeekableFormat, IndexListsTheMembersWithTheirOffsets) {
  test::TempDir dir;
  auto tar = sample_tar();
  std::string index_sha;
  auto path = dir.write("s.tar.zst", seekable_of(tar, 2, &index_sha));
  LocalFile file(path.string());
  auto index = read_seekable_index(file);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->index_sha256, index_sha);
  EXPECT_EQ(index->tar_bytes, tar.size());
  EXPECT_GT(index->frames.size(), 3u);
  ASSERT_EQ(index->members.size(), 8u);
  const auto& conf = index->members[2];
  EXPECT_EQ(conf.path, "./etc/app.conf");
  EXPECT_EQ(conf.mode, 0600u);
  EXPECT_EQ(conf.uid, 1000u);
  EXPECT_EQ(conf.gid, 100u);
  EXPECT_EQ(conf.mtime, 1700000000);
  EXPECT_EQ(conf.mtime_nsec, 123456789u);
  EXPECT_EQ(tar.substr(conf.data_offset, 12), "setting = 1\n");
  EXPECT_EQ(index->members[4].target, "app.conf");
  EXPECT_EQ(index->members[6].path, "./var/" + std::string(120, 'n'));
  // Every member's bytes start with a header: the ustar magic at 257.
  for (const auto& member : index->members)
    EXPECT_EQ(tar.substr(member.header_offset + 257, 5), "ustar") << member.path;
  EXPECT_EQ(std::string(1024, '\0'), tar.substr(index->members_end, 1024));
  // A listing reads the tail only.
  EXPECT_LT(file.bytes_read(), 4096u);
}

TEST(SeekableFormat, FramesAreCheckedAgainstTheIndex) {
  test::TempDir dir;
  auto tar = sample_tar();
  auto bytes = seekable_of(tar, 2);
  auto good = dir.write("good.tar.zst", bytes);
  LocalFile file(good.string());
  auto index = read_seekable_index(file);
  ASSERT_TRUE(index);
  std::string joined;
  for (std::size_t i = 0; i < index->frames.size(); ++i) joined += read_frame(file, *index, i);
  EXPECT_EQ(joined, tar);
  bytes[index->frames[1].file_offset + 100] ^= 0x20;
  auto bad = dir.write("bad.tar.zst", bytes);
  LocalFile damaged(bad.string());
  auto damaged_index = read_seekable_index(damaged);
  ASSERT_TRUE(damaged_index);
  EXPECT_NO_THROW(read_frame(damaged, *damaged_index, 0));
  test::expect_error([&] { read_frame(damaged, *damaged_index, 1); }, Exit::refused, "checksum mismatch");
}

TEST(SeekableFormat, OneFrameSnapshotsHaveNoIndex) {
  test::TempDir dir;
  std::string old;
  util::ZstdCompressor zstd(3, 0, [&](const char* data, std::size_t size) { old.append(data, size); });
  auto tar = sample_tar();
  zstd.write(tar.data(), tar.size());
  zstd.finish();
  LocalFile file(dir.write("old.tar.zst", old).string());
  EXPECT_FALSE(read_seekable_index(file));
}

TEST(SeekableFormat, DamagedSeekTableIsRefused) {
  test::TempDir dir;
  auto bytes = seekable_of(sample_tar(), 2);
  // The last data frame's compressed size in the seek table (entries of 8
  // bytes: the index frame's entry and the 9-byte footer come after it).
  bytes[bytes.size() - 9 - 8 - 8] ^= 0x01;
  LocalFile file(dir.write("bad.tar.zst", bytes).string());
  test::expect_error([&] { read_seekable_index(file); }, Exit::refused, "snapshot index is damaged");
}

// --- inside age: the chunks a read covers, each authenticated --------------

namespace age = crypto::age;

struct Encrypted {
  std::string tar;
  std::string file;  // .tar.zst.age
  age::X25519Identity identity = age::generate_x25519_identity();
};

Encrypted encrypted_sample() {
  Encrypted out;
  out.tar = sample_tar();
  out.file = age::encrypt_all(seekable_of(out.tar, 2), {age::x25519_recipient_of(out.identity)});
  return out;
}

std::unique_ptr<AgeFile> age_file(const std::string& bytes, const age::X25519Identity& identity) {
  return std::make_unique<AgeFile>(std::make_unique<MemoryFile>(bytes), std::vector<age::Identity>{identity});
}

TEST(SeekableAge, IndexAndFramesReadOnlyTheirChunks) {
  auto sample = encrypted_sample();
  auto file = age_file(sample.file, sample.identity);
  auto index = read_seekable_index(*file);
  ASSERT_TRUE(index);
  ASSERT_EQ(index->members.size(), 8u);
  EXPECT_EQ(index->tar_bytes, sample.tar.size());
  // The header and the last chunk or two: nothing near the whole file.
  EXPECT_LT(file->bytes_read(), 3 * (age::chunk_size + 16) + 1024);
  const auto& conf = index->members[2];
  std::string frame = read_frame(*file, *index, frame_at(index->frames, conf.data_offset));
  EXPECT_NE(frame.find("setting = 1\n"), std::string::npos);
  EXPECT_LT(file->bytes_read(), sample.file.size() / 2);
  std::string joined;
  for (std::size_t i = 0; i < index->frames.size(); ++i) joined += read_frame(*file, *index, i);
  EXPECT_EQ(joined, sample.tar);
}

TEST(SeekableAge, ATamperedChunkIsRefused) {
  auto sample = encrypted_sample();
  auto bytes = sample.file;
  bytes[bytes.size() / 2] ^= 0x01;
  auto file = age_file(bytes, sample.identity);
  auto index = read_seekable_index(*file);  // the tail is intact
  ASSERT_TRUE(index);
  test::expect_error(
      [&] {
        for (std::size_t i = 0; i < index->frames.size(); ++i) read_frame(*file, *index, i);
      },
      Exit::refused, "does not authenticate");
}

TEST(SeekableAge, ACutAtAChunkBoundaryIsRefused) {
  auto sample = encrypted_sample();
  // The payload starts after the MAC line and the 16-byte nonce.
  const std::size_t payload = sample.file.find('\n', sample.file.find("\n--- ") + 1) + 1 + 16;
  const std::size_t sealed = age::chunk_size + 16;
  const std::size_t chunks = (sample.file.size() - payload + sealed - 1) / sealed;
  ASSERT_GT(chunks, 2u);
  // Without its last chunk, the chunk now last has no final flag.
  auto cut = sample.file.substr(0, payload + (chunks - 1) * sealed);
  auto truncated = age_file(cut, sample.identity);
  test::expect_error([&] { read_seekable_index(*truncated); }, Exit::refused, "does not authenticate");
}

TEST(SeekableAge, AnotherKeyIsRefused) {
  auto sample = encrypted_sample();
  test::expect_error([&] { age_file(sample.file, age::generate_x25519_identity()); }, Exit::refused, "no identity");
}

}  // namespace
}  // namespace dockform::archive
