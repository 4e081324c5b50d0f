// util: SHA-256, the zstd stream wrappers, atomic file creation and owner identities.
#include <gtest/gtest.h>
#include <zstd.h>

#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/process.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"
#include "test_support.hpp"

namespace dockform::util {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::random_bytes;
using test::read_all;
using test::write_plain;

// ---------------------------------------------------------------------------
// Helpers

unsigned permissions_of(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 01000000;  // no such file: matches no mode
  return static_cast<unsigned>(info.st_mode) & 07777u;
}

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Several MiB alternating incompressible and highly compressible stretches.
std::string mixed_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(size);
  const std::string line = "the quick brown fox jumps over the lazy dog 0123456789\n";
  while (out.size() < size) {
    std::size_t stretch = std::min<std::size_t>(size - out.size(), 1000 + rng() % 200000);
    switch (rng() % 3) {
      case 0:
        for (std::size_t i = 0; i < stretch; ++i) out.push_back(static_cast<char>(rng() & 0xffu));
        break;
      case 1:
        for (std::size_t i = 0; i < stretch; ++i) out.push_back(line[i % line.size()]);
        break;
      default: out.append(stretch, '\0'); break;
    }
  }
  return out;
}

// Compresses `input` with ZstdCompressor, written in pieces of `piece` bytes.
std::string compress(std::string_view input, int level, int threads, std::size_t piece = 100000) {
  std::string out;
  ZstdCompressor compressor(level, threads, [&out](const char* data, std::size_t size) { out.append(data, size); });
  for (std::size_t pos = 0; pos < input.size(); pos += piece) {
    auto part = input.substr(pos, piece);
    compressor.write(part.data(), part.size());
  }
  compressor.finish();
  return out;
}

// Decompresses with ZstdReader, its input served in chunks of `chunk` bytes.
std::string decompress(const std::string& compressed, std::size_t chunk = 65536) {
  std::size_t pos = 0;
  ZstdReader reader([&]() -> std::string_view {
    auto part = std::string_view(compressed).substr(pos, chunk);
    pos += part.size();
    return part;
  });
  std::string out;
  for (auto block = reader.read(); !block.empty(); block = reader.read()) out.append(block);
  return out;
}

// ---------------------------------------------------------------------------
// Sha256

TEST(UtilSha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(UtilSha256, IncrementalEqualsOneShot) {
  Sha256 empty;
  EXPECT_EQ(empty.hex_digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  Sha256 pieces;
  pieces.update("a");
  pieces.update("", 0);
  pieces.update(std::string_view("bc"));
  EXPECT_EQ(pieces.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  std::string big = random_bytes(1 << 20, 3);
  Sha256 chunked;
  for (std::size_t pos = 0; pos < big.size(); pos += 777) chunked.update(std::string_view(big).substr(pos, 777));
  EXPECT_EQ(chunked.hex_digest(), sha256_hex(big));
}

// ---------------------------------------------------------------------------
// Zstd

struct ZstdParams {
  int level;
  int threads;
};

class UtilZstdRoundTrip : public ::testing::TestWithParam<ZstdParams> {};

TEST_P(UtilZstdRoundTrip, LargeMixedInput) {
  const auto params = GetParam();
  const std::string input = mixed_bytes(6u << 20, 42);
  const std::string compressed = compress(input, params.level, params.threads);
  ASSERT_TRUE(has_zstd_magic(reinterpret_cast<const unsigned char*>(compressed.data()), compressed.size()));
  EXPECT_LT(compressed.size(), input.size());
  const std::string output = decompress(compressed);
  ASSERT_EQ(output.size(), input.size());
  EXPECT_TRUE(output == input);
  // Independent check with libzstd's own one-shot decoder.
  std::string reference(input.size(), '\0');
  std::size_t n = ZSTD_decompress(reference.data(), reference.size(), compressed.data(), compressed.size());
  ASSERT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  EXPECT_EQ(n, input.size());
  EXPECT_TRUE(reference == input);
}

INSTANTIATE_TEST_SUITE_P(LevelsAndThreads, UtilZstdRoundTrip,
                         ::testing::Values(ZstdParams{1, 0}, ZstdParams{1, 2}, ZstdParams{19, 0}, ZstdParams{19, 2}),
                         [](const ::testing::TestParamInfo<ZstdParams>& param_info) {
                           return "level" + std::to_string(param_info.param.level) + "_threads" +
                                  std::to_string(param_info.param.threads);
                         });

TEST(UtilZstd, ReaderInputInTinyChunks) {
  const std::string input = mixed_bytes(300000, 5);
  const std::string compressed = compress(input, 3, 0, 1000);
  EXPECT_TRUE(decompress(compressed, 1) == input);
  EXPECT_TRUE(decompress(compressed, 7) == input);
  EXPECT_TRUE(decompress(compressed, compressed.size()) == input);
}

TEST(UtilZstd, ExpandingInputComesOutInBoundedBlocks) {
  // 64 MiB of zeros compress to a few KiB; the reader must still hand them
  // out in several blocks rather than one huge one.
  const std::string input(64u << 20, '\0');
  const std::string compressed = compress(input, 3, 0, 8u << 20);
  ASSERT_LT(compressed.size(), 1u << 20);
  std::size_t pos = 0;
  ZstdReader reader([&]() -> std::string_view {
    auto part = std::string_view(compressed).substr(pos);
    pos += part.size();
    return part;
  });
  std::size_t total = 0;
  std::size_t largest = 0;
  int blocks = 0;
  for (auto block = reader.read(); !block.empty(); block = reader.read()) {
    total += block.size();
    largest = std::max(largest, block.size());
    ++blocks;
    ASSERT_TRUE(std::all_of(block.begin(), block.end(), [](char c) { return c == '\0'; }));
  }
  EXPECT_EQ(total, input.size());
  EXPECT_GT(blocks, 1);
  EXPECT_LT(largest, input.size());
}

TEST(UtilZstd, TruncatedFrameThrows) {
  const std::string input = mixed_bytes(2u << 20, 9);
  const std::string compressed = compress(input, 3, 0);
  ASSERT_GT(compressed.size(), 100u);
  for (std::size_t keep : {compressed.size() - 1, compressed.size() - 4, compressed.size() / 2, std::size_t{20},
                           std::size_t{6}, std::size_t{2}}) {
    EXPECT_THROW(decompress(compressed.substr(0, keep)), Error) << "kept " << keep << " bytes";
    EXPECT_THROW(decompress(compressed.substr(0, keep), 3), Error) << "kept " << keep << " bytes, tiny chunks";
  }
}

TEST(UtilZstd, ProperPrefixesOfAFrameThrow) {
  // Several blocks of compressible text, so the cuts fall in the frame
  // header, block headers, block bodies and the final checksum.
  std::string input;
  for (int i = 0; input.size() < 200000; ++i) input += "line " + std::to_string(i * 7919 % 10007) + " of the log\n";
  const std::string compressed = compress(input, 3, 0);
  ASSERT_TRUE(decompress(compressed) == input);
  // Every prefix near the ends, and a dense sample in between.
  for (std::size_t keep = 1; keep < compressed.size();
       keep += (keep < 64 || keep + 64 > compressed.size()) ? std::size_t{1} : std::size_t{11}) {
    EXPECT_THROW(decompress(compressed.substr(0, keep)), Error) << "kept " << keep << " of " << compressed.size();
    if (HasFailure()) return;
  }
}

TEST(UtilZstd, FlippedByteThrows) {
  // Incompressible input is stored in raw blocks: a flipped byte there is
  // only noticed through the frame's content checksum.
  const std::string input = random_bytes(1u << 20, 11);
  const std::string compressed = compress(input, 3, 0);
  for (std::size_t where : {compressed.size() / 2, compressed.size() / 3, compressed.size() - 2}) {
    std::string damaged = compressed;
    damaged[where] = static_cast<char>(damaged[where] ^ 0x10);
    EXPECT_THROW(decompress(damaged), Error) << "flipped byte " << where;
  }
  // And in compressible data.
  const std::string text = mixed_bytes(1u << 20, 12);
  const std::string compressed_text = compress(text, 3, 0);
  std::string damaged = compressed_text;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x01);
  EXPECT_THROW(decompress(damaged), Error);
}

TEST(UtilZstd, ChecksumMismatchAloneIsDetected) {
  // Damage only the 4-byte content checksum at the end of the frame.
  const std::string input = mixed_bytes(100000, 13);
  std::string compressed = compress(input, 3, 0);
  compressed.back() = static_cast<char>(compressed.back() ^ 0x55);
  EXPECT_THROW(decompress(compressed), Error);
}

TEST(UtilZstd, ConcatenatedFramesDecode) {
  const std::string first = mixed_bytes(500000, 21);
  const std::string second = random_bytes(300000, 22);
  const std::string third = "short tail";
  const std::string joined = compress(first, 1, 0) + compress(second, 5, 2) + compress(third, 19, 0);
  EXPECT_TRUE(decompress(joined) == first + second + third);
  EXPECT_TRUE(decompress(joined, 13) == first + second + third);
}

TEST(UtilZstd, EmptyInput) {
  // No compressed bytes at all: nothing comes out, and no error.
  EXPECT_EQ(decompress(""), "");
  // A frame of an empty stream.
  const std::string empty_frame = compress("", 3, 0);
  EXPECT_TRUE(has_zstd_magic(reinterpret_cast<const unsigned char*>(empty_frame.data()), empty_frame.size()));
  EXPECT_EQ(decompress(empty_frame), "");
  // Empty frames between others.
  EXPECT_EQ(decompress(empty_frame + compress("x", 3, 0) + empty_frame), "x");
}

TEST(UtilZstd, GarbageThrows) {
  EXPECT_THROW(decompress("this is definitely not zstd data at all"), Error);
  EXPECT_THROW(decompress(compress("good", 3, 0) + "trailing garbage"), Error);
}

TEST(UtilZstd, HasZstdMagic) {
  const unsigned char magic[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00};
  EXPECT_TRUE(has_zstd_magic(magic, 4));
  EXPECT_TRUE(has_zstd_magic(magic, 5));
  EXPECT_FALSE(has_zstd_magic(magic, 3));
  EXPECT_FALSE(has_zstd_magic(magic, 0));
  const unsigned char wrong[] = {0x28, 0xb5, 0x2f, 0xfe};
  EXPECT_FALSE(has_zstd_magic(wrong, 4));
  const unsigned char tar_like[] = {'.', '/', 0, 0};
  EXPECT_FALSE(has_zstd_magic(tar_like, 4));
}

TEST(UtilZstd, ContentSizeFromSingleShotFrame) {
  const std::string input = mixed_bytes(123457, 31);
  std::string frame(ZSTD_compressBound(input.size()), '\0');
  std::size_t n = ZSTD_compress(frame.data(), frame.size(), input.data(), input.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  frame.resize(n);
  auto size = zstd_content_size(frame.data(), frame.size());
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(*size, 123457u);
  // The header alone is enough.
  auto from_head = zstd_content_size(frame.data(), std::min<std::size_t>(frame.size(), 32));
  ASSERT_TRUE(from_head.has_value());
  EXPECT_EQ(*from_head, 123457u);
  // ZstdReader decodes single-shot frames too.
  EXPECT_TRUE(decompress(frame) == input);
}

TEST(UtilZstd, ContentSizeUnknownOrInvalid) {
  EXPECT_FALSE(zstd_content_size("", 0).has_value());
  EXPECT_FALSE(zstd_content_size("not a zstd frame", 16).has_value());
  const unsigned char magic_only[] = {0x28, 0xb5, 0x2f, 0xfd};
  EXPECT_FALSE(zstd_content_size(magic_only, sizeof magic_only).has_value());
}

// ---------------------------------------------------------------------------
// AtomicFile

TEST(UtilAtomicFile, InvisibleUntilCommitAndPrivate) {
  TempDir dir;
  {
    AtomicFile file(dir.path());
    file.write("hello ");
    file.write(std::string_view("world"));
    EXPECT_EQ(file.bytes_written(), 11u);
    EXPECT_EQ(file.temp_path().parent_path(), dir.path());
    const std::string temp_name = file.temp_path().filename().string();
    EXPECT_EQ(temp_name.rfind(std::string(kTempPrefix), 0), 0u) << temp_name;
    // Only the temporary exists, under its hidden name.
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{temp_name});
    EXPECT_FALSE(fs::exists(dir.path() / "final.dat"));
    EXPECT_EQ(permissions_of(file.temp_path()), 0600u);

    file.finish();
    EXPECT_FALSE(fs::exists(dir.path() / "final.dat"));
    ASSERT_TRUE(file.commit("final.dat"));
    EXPECT_FALSE(fs::exists(file.temp_path()));
  }
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"final.dat"});
  EXPECT_EQ(read_all(dir.path() / "final.dat"), "hello world");
  EXPECT_EQ(permissions_of(dir.path() / "final.dat"), 0600u);
}

TEST(UtilAtomicFile, CommitWithoutExplicitFinish) {
  TempDir dir;
  {
    AtomicFile file(dir.path());
    const std::string big = random_bytes(3u << 20, 1);
    file.write(big.data(), big.size());
    ASSERT_TRUE(file.commit("big.bin"));
    EXPECT_EQ(read_all(dir.path() / "big.bin"), big);
  }
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"big.bin"});
}

TEST(UtilAtomicFile, CommitRefusesAnExistingName) {
  TempDir dir;
  write_plain(dir.path() / "taken", "original content");
  fs::path temp;
  {
    AtomicFile file(dir.path());
    file.write("new content");
    temp = file.temp_path();
    EXPECT_FALSE(file.commit("taken"));
    EXPECT_EQ(read_all(dir.path() / "taken"), "original content");
    // The temporary is kept until the object goes.
    EXPECT_TRUE(fs::exists(temp));
    EXPECT_EQ(read_all(temp), "new content");
    // Another name still works.
    EXPECT_TRUE(file.commit("other"));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(read_all(dir.path() / "taken"), "original content");
  EXPECT_EQ(read_all(dir.path() / "other"), "new content");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"other", "taken"}));
}

TEST(UtilAtomicFile, CommitRefusesAnExistingNameThenDestructorCleansUp) {
  TempDir dir;
  write_plain(dir.path() / "taken", "keep me");
  {
    AtomicFile file(dir.path());
    file.write("intruder");
    EXPECT_FALSE(file.commit("taken"));
  }
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"taken"});
  EXPECT_EQ(read_all(dir.path() / "taken"), "keep me");
}

TEST(UtilAtomicFile, DestructorRemovesUncommittedTemporary) {
  TempDir dir;
  fs::path temp;
  {
    AtomicFile file(dir.path());
    file.write("abandoned");
    temp = file.temp_path();
    EXPECT_TRUE(fs::exists(temp));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_TRUE(names_in(dir.path()).empty());
  {
    AtomicFile file(dir.path());
    file.write("finished but not committed");
    file.finish();
  }
  EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(UtilAtomicFile, TemporariesHaveDistinctNames) {
  TempDir dir;
  AtomicFile a(dir.path());
  AtomicFile b(dir.path());
  EXPECT_NE(a.temp_path(), b.temp_path());
}

TEST(UtilAtomicFile, MissingFolderThrows) {
  TempDir dir;
  EXPECT_THROW(AtomicFile(dir.path() / "does-not-exist"), Error);
}

TEST(UtilWriteNewFile, CreatesOnceNeverOverwrites) {
  TempDir dir;
  EXPECT_TRUE(write_new_file(dir.path(), "meta.json", "{\"a\": 1}\n"));
  EXPECT_EQ(read_all(dir.path() / "meta.json"), "{\"a\": 1}\n");
  EXPECT_EQ(permissions_of(dir.path() / "meta.json"), 0600u);
  EXPECT_FALSE(write_new_file(dir.path(), "meta.json", "replacement"));
  EXPECT_EQ(read_all(dir.path() / "meta.json"), "{\"a\": 1}\n");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"meta.json"});
  EXPECT_TRUE(write_new_file(dir.path(), "empty", ""));
  EXPECT_EQ(fs::file_size(dir.path() / "empty"), 0u);
}

TEST(UtilCreatePrivateDirs, CreatesMissingParentsWith0700) {
  TempDir dir;
  const fs::path deep = dir.path() / "a" / "b" / "c";
  create_private_dirs(deep);
  EXPECT_TRUE(fs::is_directory(deep));
  EXPECT_EQ(permissions_of(dir.path() / "a"), 0700u);
  EXPECT_EQ(permissions_of(dir.path() / "a" / "b"), 0700u);
  EXPECT_EQ(permissions_of(deep), 0700u);
  // Existing folders are fine.
  EXPECT_NO_THROW(create_private_dirs(deep));
  EXPECT_NO_THROW(create_private_dirs(dir.path() / "a" / "b" / "c" / "d"));
  EXPECT_EQ(permissions_of(deep / "d"), 0700u);
}

TEST(UtilCreatePrivateDirs, AFileInTheWayThrows) {
  TempDir dir;
  write_plain(dir.path() / "file", "x");
  EXPECT_THROW(create_private_dirs(dir.path() / "file"), Error);
  EXPECT_THROW(create_private_dirs(dir.path() / "file" / "sub"), Error);
}

// ---------------------------------------------------------------------------
// Owner identities

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The inode number of /proc/ENTRY/ns/pid ("" when it cannot be read).
std::string pid_namespace_of(const std::string& entry) {
  std::error_code error;
  auto link = fs::read_symlink("/proc/" + entry + "/ns/pid", error).string();
  auto open = link.find('[');
  return error || open == std::string::npos ? "" : link.substr(open + 1, link.size() - open - 2);
}

// Field 22 of /proc/ENTRY/stat: the start time in clock ticks after boot.
std::string start_of(const std::string& entry) {
  std::string stat = first_line("/proc/" + entry + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) fields >> field;
  return field;
}

// Whether this process sees every process of the machine with its namespaces
// (root in the initial PID namespace): only such a reader can prove an owner
// of another namespace gone.
bool sees_every_process() { return ::geteuid() == 0 && pid_namespace_of("self") == "4026531836"; }

TEST(UtilOwner, ParsesTheFourFieldForm) {
  auto owner = parse_owner("0b3f9f6e-3c41-4f3b-9d1e-1a2b3c4d5e6f:1:348127:4026532710");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->boot_id, "0b3f9f6e-3c41-4f3b-9d1e-1a2b3c4d5e6f");
  EXPECT_EQ(owner->pid, 1);
  EXPECT_EQ(owner->start, "348127");
  EXPECT_EQ(owner->pid_namespace, "4026532710");
}

TEST(UtilOwner, ParsesTheThreeFieldFormOfEarlierVersionsWithoutANamespace) {
  auto owner = parse_owner("0b3f9f6e-3c41-4f3b-9d1e-1a2b3c4d5e6f:4242:17");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->pid, 4242);
  EXPECT_EQ(owner->start, "17");
  EXPECT_EQ(owner->pid_namespace, "");
}

TEST(UtilOwner, RefusesMalformedOwners) {
  for (const char* bad : {"", "boot", "boot:12", "boot:12:3:4:5", "boot:0:3", "boot:-4:3", "boot:x:3", "boot:12x:3",
                          "boot::3", ":12:3", "boot:12:", "boot:12:3:"}) {
    EXPECT_FALSE(parse_owner(bad)) << bad;
    EXPECT_FALSE(owner_is_gone(bad)) << bad;
  }
}

TEST(UtilOwner, MyIdentityNamesMyPidStartAndPidNamespace) {
  auto me = parse_owner(my_owner_identity());
  ASSERT_TRUE(me);
  EXPECT_EQ(me->boot_id, first_line("/proc/sys/kernel/random/boot_id"));
  EXPECT_EQ(me->pid, static_cast<long>(::getpid()));
  EXPECT_EQ(me->start, start_of("self"));
  EXPECT_EQ(me->pid_namespace, pid_namespace_of("self"));
  EXPECT_FALSE(me->pid_namespace.empty());
  EXPECT_FALSE(owner_is_gone(my_owner_identity()));
}

TEST(UtilOwner, GoneOnlyWhenProvedGone) {
  auto me = *parse_owner(my_owner_identity());
  const std::string mine = me.boot_id + ":" + std::to_string(me.pid) + ":";
  // This namespace: a pid that runs with another start time was reused; a free
  // pid is gone.
  EXPECT_TRUE(owner_is_gone(mine + "1:" + me.pid_namespace));
  EXPECT_TRUE(owner_is_gone(me.boot_id + ":999999999:" + me.start + ":" + me.pid_namespace));
  // Another boot or machine: never judged here.
  EXPECT_FALSE(owner_is_gone("00000000-0000-0000-0000-000000000000:999999999:1:" + me.pid_namespace));
  // The form without a namespace: this process is found wherever it runs; a
  // free pid is gone only for a reader that sees every process.
  EXPECT_FALSE(owner_is_gone(mine + me.start));
  EXPECT_EQ(owner_is_gone(me.boot_id + ":999999999:1"), sees_every_process());
  // A namespace that does not exist (any more): likewise.
  EXPECT_EQ(owner_is_gone(me.boot_id + ":999999999:1:1"), sees_every_process());
}

// A process in a PID namespace of its own (pid 1 there), as dockform runs in a
// container next to dockform on the host: alive while it runs, whichever pid
// 1 this /proc shows; gone once it ended, for a reader that can see it.
TEST(UtilOwner, AnotherPidNamespaceIsNotLookedUpInOurs) {
  if (::geteuid() != 0) GTEST_SKIP() << "a PID namespace needs root";
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  alignas(16) static char stack[64 * 1024];
  pid_t child = ::clone(
      [](void* fd) -> int {
        char byte;
        // Ends when the test writes a byte (it has its own copy of the write end).
        return static_cast<int>(::read(*static_cast<int*>(fd), &byte, 1));
      },
      stack + sizeof stack, CLONE_NEWPID | SIGCHLD, &go[0]);
  if (child < 0) {
    ::close(go[0]);
    ::close(go[1]);
    GTEST_SKIP() << "clone(CLONE_NEWPID) is not allowed here";
  }
  ::close(go[0]);
  std::string entry = std::to_string(child);
  std::string boot = first_line("/proc/sys/kernel/random/boot_id");
  std::string owner = boot + ":1:" + start_of(entry) + ":" + pid_namespace_of(entry);
  ASSERT_NE(pid_namespace_of(entry), pid_namespace_of("self"));
  EXPECT_FALSE(owner_is_gone(owner));
  EXPECT_FALSE(owner_is_gone(boot + ":1:" + start_of(entry)));  // without the namespace
  // Another pid in its namespace: none runs.
  EXPECT_EQ(owner_is_gone(boot + ":2:" + start_of(entry) + ":" + pid_namespace_of(entry)), sees_every_process());
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(owner_is_gone(owner), sees_every_process());
}

}  // namespace
}  // namespace dockform::util

TEST(UtilProcess, BootIdIsTheKernels) {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line.size(), 36u);
  EXPECT_EQ(dockform::util::boot_id(), line);
  EXPECT_EQ(dockform::util::my_owner_identity().rfind(line + ":", 0), 0u);
}

TEST(UtilProcess, RandomIdsHaveTheirLengthAndAlphabetAndDiffer) {
  auto a = dockform::util::random_id(12);
  auto b = dockform::util::random_id(12);
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_EQ(dockform::util::random_id(0), "");
}
