// Deduplicated repositories: the frame splitter, the recipe and pack index
// formats, and a repository written and read back without an engine.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dockform/archive/frame_writer.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/repo/repo_lock.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/sha256.hpp"
#include "repo_support.hpp"
#include "test_support.hpp"

namespace dockform::store {
namespace {

using test::expect_error;
using test::random_bytes;
namespace fs = std::filesystem;

// The repository functions on a local folder, as these tests name it.
void init_repository(const fs::path& root) { store::init_repository(*open_repo_files(Location::local(root))); }
bool is_repository(const fs::path& root) { return store::is_repository(Location::local(root)); }
archive::ChunkSizes repo_chunk_sizes(const fs::path& root) {
  return store::repo_chunk_sizes(*open_repo_files(Location::local(root)));
}
RepoStats repo_stats(const fs::path& root) { return store::repo_stats(*open_repo_files(Location::local(root))); }
Collected collect_unused_frames(const fs::path& root, bool dry_run, int repack_percent = kRepackUnusedPercent) {
  return store::collect_unused_frames(*open_repo_files(Location::local(root)), dry_run, repack_percent);
}
std::string read_repo_file(const fs::path& file) {
  return store::read_repo_file(*open_repo_files(Location::local(file.parent_path())), file.filename().string());
}
// A snapshot's recipe and sidecar files.
fs::path recipe_of(const Location& ref) {
  auto repo = store::repository_ref(ref).value();
  return repo.root.path() / repo.recipe();
}
fs::path sidecar_of(const Location& ref) {
  auto repo = store::repository_ref(ref).value();
  return repo.root.path() / repo.sidecar();
}

using test_repo::seekable_file;

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

// A snapshot writes one frame a call: they go straight through, also after a
// call that ended inside a frame.
TEST(FrameSplitter, WholeFramesAndHalfFramesInAnyOrder) {
  std::string file = seekable_file(random_bytes(3 << 20, 4) + std::string(4 << 20, 'b'));
  auto whole = split(file, file.size());
  ASSERT_GE(whole.size(), 4u);
  std::vector<std::string> frames;
  FrameSplitter splitter([&](std::string_view frame) { frames.emplace_back(frame); });
  for (const auto& frame : whole) splitter.write(frame.data(), frame.size());
  EXPECT_EQ(frames, whole);
  frames.clear();
  std::size_t half = whole[0].size() / 2;
  splitter.write(file.data(), half);
  EXPECT_TRUE(frames.empty());
  splitter.write(file.data() + half, whole[0].size() - half + whole[1].size());
  splitter.write(file.data() + whole[0].size() + whole[1].size(), file.size() - whole[0].size() - whole[1].size());
  splitter.finish();
  EXPECT_EQ(frames, whole);
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
  Recipe recipe{std::string(64, 'f'), 30, {{std::string(64, 'a'), 10}, {std::string(64, 'b'), 20}}, 3};
  auto back = decode_recipe(encode_recipe(recipe), "r");
  EXPECT_EQ(back.sha256, recipe.sha256);
  EXPECT_EQ(back.level, 3) << "the level its frames were made at";
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
  auto packs = decode_pack_index(encode_pack_index({{pack, entries}, {std::string(64, 'e'), {}}}), "i");
  ASSERT_EQ(packs.size(), 2u) << "one file lists several packs";
  const auto& name = packs[0].pack;
  const auto& back = packs[0].entries;
  EXPECT_EQ(name, pack);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].offset, 5u);
  EXPECT_EQ(packs[1].pack, std::string(64, 'e'));
  // A file of version 1 (before 2026-12-07) is one pack's.
  auto old = decode_pack_index(R"({"format":"dockform-pack-index","version":1,"pack":")" + pack + R"(","frames":[[")" +
                                   std::string(64, '1') + R"(",0,5]]})",
                               "v1");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].pack, pack);
  EXPECT_EQ(old[0].entries.at(0).length, 5u);
  PackIndex index;
  index.add(name, back);
  EXPECT_THROW(index.find(std::string(64, '2')), std::logic_error);
  // The same frame in a later pack: the first pack's place is kept.
  index.add(std::string(64, 'd'), {{std::string(64, '2'), 100, 7}, {std::string(64, '0'), 9, 3}});
  index.sort();
  EXPECT_EQ(index.frame_count(), 3u);
  ASSERT_NE(index.find(std::string(64, '0')), nullptr);
  EXPECT_EQ(index.find(std::string(64, '0'))->offset, 9u);
  EXPECT_EQ(index.find("not hex"), nullptr);
  const auto* found = index.find(std::string(64, '2'));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(index.pack_name(found->pack), pack);
  EXPECT_EQ(found->length, 7u);
  EXPECT_EQ(found->offset, 5u);
  EXPECT_EQ(index.find(std::string(64, '3')), nullptr);
  expect_error([&] { decode_pack_index(R"({"format":"x"})", "i"); }, Exit::refused, "damaged pack index i");
}

// An empty repository in `dir`/repo.
std::filesystem::path new_repository(const test::TempDir& dir) {
  auto root = dir.path() / "repo";
  init_repository(root);
  return root;
}

using test_repo::put;
using test_repo::read_all;

std::size_t packs_in(const std::filesystem::path& root) {
  std::size_t n = 0;
  for (const auto& item : std::filesystem::directory_iterator(root / "packs")) n += item.path().extension() == ".pack";
  return n;
}

TEST(Repository, StoresEachFrameOnceAndReadsTheFileBackExactly) {
  test::TempDir dir;
  auto root = new_repository(dir);
  ASSERT_TRUE(is_repository(root));
  std::string first = seekable_file(random_bytes(6 << 20, 4));
  auto ref1 = put(root, first, 1000);
  EXPECT_EQ(read_all(ref1), first);
  // The recipe records the file's SHA-256 as the writer gave it to commit().
  auto recipe = recipe_of(ref1);
  EXPECT_EQ(decode_recipe(read_repo_file(recipe), recipe.string()).sha256, util::sha256_hex(first));
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

// verify --no-read-data: the recipe checked and the file read at random from
// one reading of the recipe and the pack indexes.
TEST(Repository, ARecipeCheckReadsTheSnapshotToo) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string file = seekable_file(random_bytes(3 << 20, 6));
  auto ref = put(root, file, 1000);
  auto check = check_recipe(repository_ref(ref).value());
  EXPECT_EQ(check.sha256, util::sha256_hex(file));
  EXPECT_TRUE(check.problems.empty());
  ASSERT_NE(check.file, nullptr);
  EXPECT_EQ(check.file->size(), file.size());
  EXPECT_EQ(check.file->read(file.size() - 5000, 5000), file.substr(file.size() - 5000));
}

TEST(Repository, ADamagedPackIsAChecksumMismatch) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string file = seekable_file(random_bytes(2 << 20, 5));
  auto ref = put(root, file, 1000);
  for (const auto& item : std::filesystem::directory_iterator(root / "packs")) {
    std::fstream pack(item.path(), std::ios::in | std::ios::out | std::ios::binary);
    pack.seekp(1000);
    pack.put('\x55');
  }
  expect_error([&] { read_all(ref); }, Exit::refused, "checksum mismatch");
}

// New repositories cut their snapshots finer than files are (kRepoChunks);
// older ones, whose config recorded the file sizes, keep theirs.
TEST(Repository, ConfigRecordsTheFrameSizes) {
  test::TempDir dir;
  auto root = new_repository(dir);
  EXPECT_EQ(repo_chunk_sizes(root), archive::kRepoChunks);
  auto config = nlohmann::json::parse(read_repo_file(root / kRepoConfigName));
  config["chunker"] = {{"min", 256 << 10}, {"average", 1 << 20}, {"max", 4 << 20}};
  dir.write("repo/config", config.dump());
  EXPECT_EQ(repo_chunk_sizes(root), archive::kFileChunks);
  config.erase("chunker");
  dir.write("repo/config", config.dump());
  EXPECT_EQ(repo_chunk_sizes(root), archive::kFileChunks) << "a config without sizes";
  config["chunker"] = {{"min", 1}, {"average", 3}, {"max", 2}};
  dir.write("repo/config", config.dump());
  expect_error([&] { repo_chunk_sizes(root); }, Exit::refused, "chunk sizes");
}

TEST(Repository, InitRefusesAFolderThatIsNotEmpty) {
  test::TempDir dir;
  dir.write("x", "y");
  expect_error([&] { init_repository(dir.path()); }, Exit::usage, "not empty");
}

// The packs the index files list, by name.
std::vector<std::string> indexed_packs(const std::filesystem::path& root) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(root / "index")) {
    if (item.path().filename().string()[0] == '.') continue;
    for (const auto& pack : decode_pack_index(read_repo_file(item.path()), "i")) names.push_back(pack.pack);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The index file that lists `pack`.
std::filesystem::path index_file_of(const std::filesystem::path& root, const std::string& pack) {
  for (const auto& item : std::filesystem::directory_iterator(root / "index")) {
    for (const auto& listed : decode_pack_index(read_repo_file(item.path()), "i")) {
      if (listed.pack == pack) return item.path();
    }
  }
  ADD_FAILURE() << "no index lists " << pack;
  return {};
}

// The visible files of packs/ or index/, by name.
std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    auto name = item.path().filename().string();
    if (name[0] != '.') names.push_back(item.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A pack sealed on the background thread that fails (here: its folder gone
// before the link) fails the writer where it waits for it, and no index
// names its frames.
TEST(PackWriter, ASealThatFailsInTheBackgroundFailsFinish) {
  test::TempDir dir;
  auto root = new_repository(dir);
  auto files = open_repo_files(Location::local(root));
  PackWriter writer(*files);
  std::string frame = random_bytes(1 << 20, 61);
  writer.add(util::sha256_hex(frame), frame);
  std::filesystem::remove_all(root / "packs");
  EXPECT_THROW(writer.finish(), std::exception);
  EXPECT_TRUE(names_in(root / "index").empty()) << "an index for a pack that is not there";
}

// The packs one snapshot sealed share an index file (a bucket's repository
// then needs few GETs to load its indexes), written after them.
TEST(Repository, ASnapshotIndexesItsPacksInOneFile) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string file = seekable_file(random_bytes(40 << 20, 51));  // more than one pack (32 MiB)
  auto ref = put(root, file, 1000);
  EXPECT_EQ(packs_in(root), 2u);
  EXPECT_EQ(names_in(root / "index").size(), 1u) << "one index file for the snapshot's two packs";
  EXPECT_EQ(indexed_packs(root), names_in(root / "packs"));
  EXPECT_EQ(read_all(ref), file);
}

void remove_snapshot(const std::filesystem::path& root, const Location& ref) {
  open_store(Location::local(root))->remove(ref);
  std::filesystem::remove(sidecar_of(ref));
}

TEST(RepoCollect, RemovesThePacksOnlyRemovedSnapshotsUsed) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string a = seekable_file(random_bytes(3 << 20, 11));
  std::string b = seekable_file(random_bytes(3 << 20, 12));
  auto ref_a = put(root, a, 1000);
  auto ref_b = put(root, b, 2000);
  auto ref_a2 = put(root, a, 3000);  // the same frames as ref_a: no pack of its own
  ASSERT_EQ(packs_in(root), 2u);
  auto before = repo_stats(root).stored_bytes;
  // Nothing unused yet: nothing moves.
  auto none = collect_unused_frames(root, false);
  EXPECT_EQ(none.packs_removed + none.packs_rewritten + none.frames_removed, 0u);
  remove_snapshot(root, ref_a);
  remove_snapshot(root, ref_b);
  auto dry = collect_unused_frames(root, true);
  EXPECT_EQ(dry.packs_removed, 1u);
  EXPECT_EQ(packs_in(root), 2u) << "a dry run removes nothing";
  auto done = collect_unused_frames(root, false);
  EXPECT_EQ(done.packs_removed, 1u);
  EXPECT_EQ(done.packs_rewritten, 0u);
  EXPECT_GT(done.bytes_freed, b.size() - 4096);
  EXPECT_LE(repo_stats(root).stored_bytes + done.bytes_freed, before);
  EXPECT_EQ(packs_in(root), 1u);
  EXPECT_EQ(names_in(root / "packs"), indexed_packs(root));
  EXPECT_EQ(read_all(ref_a2), a) << "the snapshot kept reads back whole";
}

// prune --repack: a pack partly used (its unused share U%, from a dry run's
// figures) is rewritten at 50 and at U, kept at U + 1 and 100 (where only
// wholly unused packs go).
TEST(RepoCollect, RepackPercentDecidesWhichPacksAreRewritten) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string head = random_bytes(6 << 20, 31);
  auto ref_big = put(root, seekable_file(head + random_bytes(8 << 20, 32)), 1000);
  auto ref_small = put(root, seekable_file(head), 2000);
  remove_snapshot(root, ref_big);
  auto dry = collect_unused_frames(root, true);
  ASSERT_EQ(dry.packs_rewritten, 1u);
  const auto unused = static_cast<int>(dry.bytes_freed * 100 / (dry.bytes_freed + dry.bytes_copied));
  ASSERT_GT(unused, 50);
  ASSERT_LT(unused, 99);
  for (int percent : {50, unused}) EXPECT_EQ(collect_unused_frames(root, true, percent).packs_rewritten, 1u) << percent;
  for (int percent : {unused + 1, 100}) {
    EXPECT_EQ(collect_unused_frames(root, true, percent).packs_rewritten, 0u) << percent;
  }
  auto packs = names_in(root / "packs");
  auto kept = collect_unused_frames(root, false, 100);
  EXPECT_EQ(kept.packs_rewritten + kept.packs_removed, 0u);
  EXPECT_EQ(names_in(root / "packs"), packs) << "--repack 100 rewrote a pack that is partly used";
  EXPECT_EQ(collect_unused_frames(root, false, unused).packs_rewritten, 1u);
  EXPECT_EQ(read_all(ref_small), seekable_file(head));
  EXPECT_THROW(collect_unused_frames(root, true, 101), std::logic_error);
}

TEST(RepoCollect, RewritesAPackMostlyUnusedAndKeepsItsUsedFrames) {
  test::TempDir dir;
  auto root = new_repository(dir);
  // One snapshot of two parts, then one of its first part alone: the first
  // part's frames are shared (the cut points are the content's).
  std::string head = random_bytes(2 << 20, 21);
  std::string big = seekable_file(head + random_bytes(12 << 20, 22));
  std::string small = seekable_file(head);
  auto ref_big = put(root, big, 1000);
  auto ref_small = put(root, small, 2000);
  remove_snapshot(root, ref_big);
  auto old_packs = names_in(root / "packs");
  auto done = collect_unused_frames(root, false);
  EXPECT_EQ(done.packs_rewritten, 1u);
  EXPECT_GT(done.bytes_copied, 0u) << "the shared frames moved";
  EXPECT_GT(done.bytes_freed, 10u << 20);
  // The rewritten pack gone, a new one holding its used frames.
  auto packs = names_in(root / "packs");
  auto gone = std::count_if(old_packs.begin(), old_packs.end(), [&](const std::string& name) {
    return !std::binary_search(packs.begin(), packs.end(), name);
  });
  EXPECT_EQ(gone, 1);
  EXPECT_EQ(packs.size(), old_packs.size());
  EXPECT_EQ(names_in(root / "packs"), indexed_packs(root));
  EXPECT_EQ(read_all(ref_small), small);
}

// A collection killed once its rewritten pack and that pack's index were
// written (before any removal) leaves two copies of the used frames: the next
// one must keep one of them. It once placed them in the old pack, rewrote it
// into the very pack that held the other copy, and removed that pack.
TEST(RepoCollect, ARewriteThatAKilledCollectionAlreadyWroteKeepsItsFrames) {
  // The case that lost frames needs the old pack's name (a hash) to sort
  // before the rewrite's: the first seed that gives it.
  for (std::uint32_t seed = 21; seed < 41; ++seed) {
    test::TempDir dir;
    auto root = new_repository(dir);
    std::string head = random_bytes(2 << 20, seed);
    std::string small = seekable_file(head);
    auto ref_big = put(root, seekable_file(head + random_bytes(12 << 20, seed + 100)), 1000);
    auto ref_small = put(root, small, 2000);
    remove_snapshot(root, ref_big);
    // The rewrite's pack and index, made by a collection of a copy.
    auto copy = dir.path() / "copy";
    std::filesystem::copy(root, copy, std::filesystem::copy_options::recursive);
    auto old_packs = names_in(root / "packs");
    collect_unused_frames(copy, false);
    std::vector<std::string> added;
    for (const auto& name : names_in(copy / "packs")) {
      if (!std::binary_search(old_packs.begin(), old_packs.end(), name)) added.push_back(name);
    }
    ASSERT_EQ(added.size(), 1u);
    std::vector<std::string> removed;
    for (const auto& name : old_packs) {
      if (!std::filesystem::exists(copy / "packs" / (name + ".pack"))) removed.push_back(name);
    }
    ASSERT_EQ(removed.size(), 1u);
    if (removed[0] > added[0]) continue;
    std::filesystem::copy_file(copy / "packs" / (added[0] + ".pack"), root / "packs" / (added[0] + ".pack"));
    auto index_file = index_file_of(copy, added[0]);
    std::filesystem::copy_file(index_file, root / "index" / index_file.filename());
    collect_unused_frames(root, false);
    EXPECT_EQ(names_in(root / "packs"), names_in(copy / "packs"));
    EXPECT_EQ(names_in(root / "packs"), indexed_packs(root));
    EXPECT_EQ(read_all(ref_small), small);
    return;
  }
  FAIL() << "no seed gave an old pack that sorts before its rewrite";
}

TEST(RepoCollect, RemovesKilledSnapshotsAndUnindexedPacksButStopsAtDamage) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string a = seekable_file(random_bytes(2 << 20, 31));
  auto ref = put(root, a, 1000);
  // A recipe without its sidecar (a snapshot killed before it finished) and a
  // pack that no index names (killed between the pack and its index).
  auto recipe = recipe_of(ref);
  std::filesystem::copy_file(recipe, recipe.parent_path() / "19700101T000000Z-killed.recipe");
  test::write_plain(root / "packs" / (std::string(64, 'e') + ".pack"), "orphan");
  auto done = collect_unused_frames(root, false);
  EXPECT_EQ(done.unfinished, 1u);
  EXPECT_FALSE(std::filesystem::exists(recipe.parent_path() / "19700101T000000Z-killed.recipe"));
  EXPECT_FALSE(std::filesystem::exists(root / "packs" / (std::string(64, 'e') + ".pack")));
  EXPECT_EQ(read_all(ref), a);
  // A damaged recipe: nothing is collected, whatever else is unused.
  std::string b = seekable_file(random_bytes(2 << 20, 32));
  auto ref_b = put(root, b, 2000);
  remove_snapshot(root, ref_b);
  test::write_plain(recipe, "{");
  auto packs = names_in(root / "packs");
  expect_error([&] { collect_unused_frames(root, false); }, Exit::refused, "nothing was collected");
  EXPECT_EQ(names_in(root / "packs"), packs);
}

TEST(RepoLock, ACollectionWaitsForReadersAndGivesUpAtItsDeadline) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string a = seekable_file(random_bytes(1 << 20, 41));
  auto ref = put(root, a, 1000);
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_WAIT", "1s", 1), 0);
  {
    auto reader = open_snapshot(ref);  // holds the lock shared while it lives
    expect_error([&] { collect_unused_frames(root, false); }, Exit::refused, "in use by snapshots");
    // Readers share it.
    EXPECT_EQ(read_all(ref), a);
  }
  {
    auto files = open_repo_files(Location::local(root));
    RepoLock collecting(*files, RepoLock::Mode::exclusive);
    expect_error([&] { open_snapshot(ref); }, Exit::refused, "in use by a prune");
  }
  EXPECT_EQ(collect_unused_frames(root, false).packs_removed, 0u);
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_WAIT", "soon", 1), 0);
  expect_error([&] { repo_lock_wait(); }, Exit::usage, "DOCKFORM_REPO_LOCK_WAIT=soon");
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_WAIT"), 0);
  EXPECT_EQ(repo_lock_wait(), std::chrono::hours(1));
}

// A prune takes the lock before its retention removes anything (lock_for_prune)
// and collects under that one hold: a reader keeps it from starting at all,
// and its own hold does not keep its collection waiting.
TEST(RepoLock, APruneHoldsTheLockFromBeforeItsRetentionToItsCollection) {
  test::TempDir dir;
  auto root = new_repository(dir);
  std::string a = seekable_file(random_bytes(1 << 20, 42));
  std::string b = seekable_file(random_bytes(1 << 20, 43));
  auto ref_a = put(root, a, 1000);
  auto ref_b = put(root, b, 2000);
  ASSERT_EQ(::setenv("DOCKFORM_REPO_LOCK_WAIT", "1s", 1), 0);
  auto store = open_store(Location::local(root));
  {
    auto reader = open_snapshot(ref_b);
    expect_error([&] { store->lock_for_prune(false); }, Exit::refused, "in use by snapshots");
    auto dry = store->lock_for_prune(true);  // a dry run shares the lock with readers
    EXPECT_TRUE(store->collect_unused(*dry, true, kRepackUnusedPercent).has_value());
    EXPECT_THROW(store->collect_unused(*dry, false, kRepackUnusedPercent), std::logic_error);
  }
  auto held = store->lock_for_prune(false);
  expect_error([&] { open_snapshot(ref_b); }, Exit::refused, "in use by a prune");
  store->remove(ref_a);
  store->remove(Location::local(sidecar_of(ref_a)));
  auto collected = store->collect_unused(*held, false, kRepackUnusedPercent);
  ASSERT_TRUE(collected.has_value());
  EXPECT_EQ(collected->packs_removed + collected->packs_rewritten, 1u);
  held.reset();
  EXPECT_EQ(read_all(ref_b), b);
  ASSERT_EQ(::unsetenv("DOCKFORM_REPO_LOCK_WAIT"), 0);
}

}  // namespace
}  // namespace dockform::store
