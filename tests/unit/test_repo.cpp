// Deduplicated repositories: the frame splitter, the recipe and pack index
// formats, and a repository written and read back without an engine.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dockform/archive/frame_writer.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/sha256.hpp"
#include "test_support.hpp"

namespace dockform::store {
namespace {

using test::expect_error;
using test::random_bytes;

// `data` written in the seekable format (its "members" left out: the splitter
// and the repository do not look inside frames).
std::string seekable_file(const std::string& data) {
  std::string out;
  archive::FrameWriter writer(3, 0, [&](const char* bytes, std::size_t size) { out.append(bytes, size); });
  writer.write(data.data(), data.size());
  writer.finish({}, data.size());
  return out;
}

std::vector<std::string> split(const std::string& file, std::size_t piece) {
  std::vector<std::string> frames;
  FrameSplitter splitter([&](std::string_view frame) { frames.emplace_back(frame); });
  for (std::size_t at = 0; at < file.size(); at += piece)
    splitter.write(file.data() + at, std::min(piece, file.size() - at));
  splitter.finish();
  return frames;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += part;
  return out;
}

TEST(FrameSplitter, CutsASeekableFileIntoItsFramesWhateverThePieces) {
  std::string file = seekable_file(random_bytes(3 << 20, 1) + std::string(4 << 20, 'a'));
  auto whole = split(file, file.size());
  // Several data frames, then the index and the seek table (skippable frames).
  ASSERT_GE(whole.size(), 4u);
  EXPECT_EQ(joined(whole), file);
  EXPECT_EQ(split(file, 777), whole);
  EXPECT_EQ(split(file, 4099), whole);
}

TEST(FrameSplitter, RefusesAFileThatEndsInsideAFrame) {
  std::string file = seekable_file(random_bytes(1 << 20, 2));
  FrameSplitter splitter([](std::string_view) {});
  splitter.write(file.data(), file.size() - 3);
  expect_error([&] { splitter.finish(); }, Exit::refused, "ends inside a zstd frame");
}

TEST(FrameSplitter, RefusesBytesThatAreNoFrames) {
  std::string garbage = random_bytes(17 << 20, 3);
  FrameSplitter splitter([](std::string_view) {});
  expect_error([&] { splitter.write(garbage.data(), garbage.size()); }, Exit::refused, "no sequence of zstd frames");
}

TEST(RepoFormats, RecipeRoundTripsAndMustAddUp) {
  Recipe recipe{std::string(64, 'f'), 30, {{std::string(64, 'a'), 10}, {std::string(64, 'b'), 20}}};
  auto back = decode_recipe(encode_recipe(recipe), "r");
  EXPECT_EQ(back.sha256, recipe.sha256);
  EXPECT_EQ(back.size, 30u);
  ASSERT_EQ(back.frames.size(), 2u);
  EXPECT_EQ(back.frames[1].id, recipe.frames[1].id);
  EXPECT_EQ(back.frames[1].length, 20u);
  recipe.size = 31;
  expect_error([&] { decode_recipe(encode_recipe(recipe), "r"); }, Exit::refused, "do not add up");
  expect_error([&] { decode_recipe("{", "r"); }, Exit::refused, "damaged recipe r");
}

TEST(RepoFormats, PackIndexRoundTripsAndFindsFrames) {
  std::string pack(64, 'c');
  std::vector<PackEntry> entries{{std::string(64, '1'), 0, 5}, {std::string(64, '2'), 5, 7}};
  auto [name, back] = decode_pack_index(encode_pack_index(pack, entries), "i");
  EXPECT_EQ(name, pack);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].offset, 5u);
  PackIndex index;
  index.add(name, back);
  const auto* found = index.find(std::string(64, '2'));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(index.pack_name(found->pack), pack);
  EXPECT_EQ(found->length, 7u);
  EXPECT_EQ(index.find(std::string(64, '3')), nullptr);
  expect_error([&] { decode_pack_index(R"({"format":"x"})", "i"); }, Exit::refused, "damaged pack index i");
}

// Writes `file` as a snapshot of `volume` into the repository; returns its ref.
Location put(const std::filesystem::path& root, const std::string& file, std::time_t start) {
  auto store = open_store(Location::local(root));
  auto sink = store->open_sink("vol", start, "0123456789abcdef", ".tar.zst");
  for (std::size_t at = 0; at < file.size(); at += 65536)
    sink->write(file.data() + at, std::min<std::size_t>(65536, file.size() - at));
  auto t = sink->commit();
  std::string stem = snapshot_stem(t, "0123456789abcdef");
  sink->write_sidecar(stem, R"({"checksum":")" + util::sha256_hex(file) + R"("})");
  return Location::local(sink->location(stem + ".tar.zst"));
}

std::string read_all(const Location& ref) {
  auto source = open_snapshot(ref);
  std::string out;
  char buffer[10000];
  while (std::size_t n = source->read(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

std::size_t packs_in(const std::filesystem::path& root) {
  std::size_t n = 0;
  for (const auto& item : std::filesystem::directory_iterator(root / "packs")) n += item.path().extension() == ".pack";
  return n;
}

TEST(Repository, StoresEachFrameOnceAndReadsTheFileBackExactly) {
  test::TempDir dir;
  auto root = dir.path() / "repo";
  init_repository(root);
  ASSERT_TRUE(is_repository(root));
  std::string first = seekable_file(random_bytes(6 << 20, 4));
  auto ref1 = put(root, first, 1000);
  EXPECT_EQ(read_all(ref1), first);
  auto stored = repo_stats(root).stored_bytes;
  // The same content again: only a recipe and a sidecar more.
  auto ref2 = put(root, first, 2000);
  EXPECT_NE(ref1, ref2);
  EXPECT_EQ(read_all(ref2), first);
  auto stats = repo_stats(root);
  EXPECT_EQ(stats.snapshots, 2u);
  EXPECT_EQ(stats.logical_bytes, 2 * first.size());
  EXPECT_LT(stats.stored_bytes - stored, 4096u);
  EXPECT_EQ(packs_in(root), 1u);
  // Ranges, as `volume ls` and `extract` read them.
  auto ranges = open_random_access(ref2);
  ASSERT_NE(ranges, nullptr);
  EXPECT_EQ(ranges->read(1234567, 3000000), first.substr(1234567, 3000000));
  // Listed as refs beside their sidecars.
  auto files = open_store(Location::local(root))->files("vol");
  EXPECT_EQ(files.size(), 4u);
}

TEST(Repository, ADamagedPackIsAChecksumMismatch) {
  test::TempDir dir;
  auto root = dir.path() / "repo";
  init_repository(root);
  std::string file = seekable_file(random_bytes(2 << 20, 5));
  auto ref = put(root, file, 1000);
  for (const auto& item : std::filesystem::directory_iterator(root / "packs")) {
    std::fstream pack(item.path(), std::ios::in | std::ios::out | std::ios::binary);
    pack.seekp(1000);
    pack.put('\x55');
  }
  expect_error([&] { read_all(ref); }, Exit::refused, "checksum mismatch");
}

TEST(Repository, InitRefusesAFolderThatIsNotEmpty) {
  test::TempDir dir;
  dir.write("x", "y");
  expect_error([&] { init_repository(dir.path()); }, Exit::usage, "not empty");
}

}  // namespace
}  // namespace dockform::store
