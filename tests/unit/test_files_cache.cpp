// The nightly fast path's host side: the files cache, the helper's
// --previous records and its "stat" lines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "dockform/volume/files_cache.hpp"
#include "dockform/volume/helper_messages.hpp"

namespace dockform::volume::files_cache_test {

std::filesystem::path temp_folder() {
  auto dir = std::filesystem::temp_directory_path() / ("dftest-files-cache-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(FilesCache, ReadsBackWhatItWrote) {
  auto dir = temp_folder();
  std::string path = (dir / "files" / "x").string();
  FilesCache cache{"2026-12-07T02-00-00Z__spec-1a2b3c4d", 3, {{11, 1796680343, 490400350}, {12, -5, 0}}};
  write_files_cache(path, cache);
  auto read = read_files_cache(path);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->stem, cache.stem);
  EXPECT_EQ(read->fast_runs, 3u);
  EXPECT_EQ(read->stamps, cache.stamps);
  // Written again: replaced, not refused.
  cache.fast_runs = 0;
  write_files_cache(path, cache);
  EXPECT_EQ(read_files_cache(path)->fast_runs, 0u);
  std::filesystem::remove_all(dir);
}

TEST(FilesCache, ADamagedOrMissingCacheIsNone) {
  auto dir = temp_folder();
  EXPECT_FALSE(read_files_cache((dir / "missing").string()));
  std::string path = (dir / "cut").string();
  write_files_cache(path, {"stem", 0, {{1, 2, 3}, {4, 5, 6}}});
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  // One member fewer than it says.
  std::ofstream(path) << text.substr(0, text.rfind("4 5 6"));
  EXPECT_FALSE(read_files_cache(path));
  std::ofstream(path) << "something else\n";
  EXPECT_FALSE(read_files_cache(path));
  std::filesystem::remove_all(dir);
}

TEST(FilesCache, PathFollowsTheCacheFolder) {
  ::setenv("DOCKFORM_CACHE_DIR", "/somewhere", 1);
  auto a = files_cache_path("/srv/repo/db/");
  EXPECT_TRUE(a.starts_with("/somewhere/files/")) << a;
  EXPECT_NE(a, files_cache_path("/srv/repo/web/"));
  ::unsetenv("DOCKFORM_CACHE_DIR");
}

TEST(FilesCache, PreviousRecordsAreWhatTheHelperReads) {
  archive::Member root;
  root.path = "./";
  root.type = archive::TarEntry::Type::directory;
  root.mtime = 100;
  archive::Member file;
  file.path = "./a b/c\nd";
  file.type = archive::TarEntry::Type::file;
  file.size = 4096;
  file.mtime = 200;
  file.mtime_nsec = 7;
  archive::Member link;
  link.path = "./h";
  link.type = archive::TarEntry::Type::hardlink;
  std::string records = previous_records({root, file, link}, {{1, 10, 11}, {2, 20, 21}, {2, 30, 31}});
  std::string expected;
  for (const char* record : {"0 d 1 10 11 0 100 0 ", "1 f 2 20 21 4096 200 7 a b/c\nd", "2 h 2 30 31 0 0 0 h"}) {
    expected += record;
    expected += '\0';
  }
  EXPECT_EQ(records, expected);
}

TEST(FilesCache, StatLinesAreCollectedApartFromTheReport) {
  HelperMessages messages;
  messages.feed(R"({"level":"info","kind":"stat","first":0,"members":[[5,6,7],[8,9,10]]})"
                "\n"
                R"({"level":"warning","kind":"vanished","path":"./x"})"
                "\n"
                R"({"level":"info","kind":"stat","first":2,"members":[[11,12,13]]})"
                "\n");
  EXPECT_TRUE(messages.stamps().complete());
  ASSERT_EQ(messages.stamps().stamps().size(), 3u);
  EXPECT_EQ(messages.stamps().stamps()[2], (FileStamp{11, 12, 13}));
  EXPECT_EQ(messages.report().warnings.size(), 1u);
  EXPECT_TRUE(messages.report().errors.empty());
  // A batch out of order spoils the list.
  messages.feed(R"({"level":"info","kind":"stat","first":7,"members":[[1,1,1]]})"
                "\n");
  EXPECT_FALSE(messages.stamps().complete());
}

}  // namespace dockform::volume::files_cache_test
