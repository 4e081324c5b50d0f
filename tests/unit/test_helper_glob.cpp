// dockform-helper's --exclude patterns (src/helper/glob.hpp), compiled into
// the unit tests from the helper's own source.
#include <gtest/gtest.h>

#include "../../src/helper/glob.hpp"

namespace {
using dockform::helper::Excludes;
using dockform::helper::glob_match;

TEST(HelperGlob, StarStopsAtSlashes) {
  EXPECT_TRUE(glob_match("*.log", "app.log"));
  EXPECT_FALSE(glob_match("*.log", "logs/app.log"));
  EXPECT_TRUE(glob_match("logs/*.log", "logs/app.log"));
  EXPECT_FALSE(glob_match("logs/*.log", "logs/old/app.log"));
}

TEST(HelperGlob, DoubleStarCrossesFolders) {
  EXPECT_TRUE(glob_match("**/cache", "a/b/cache"));
  EXPECT_TRUE(glob_match("**/cache", "cache"));  // "**/" also matches no folder
  EXPECT_TRUE(glob_match("a/**/z.txt", "a/b/c/z.txt"));
  EXPECT_TRUE(glob_match("a/**", "a/b/c"));
  EXPECT_FALSE(glob_match("a/**/z.txt", "b/z.txt"));
}

TEST(HelperGlob, ClassesQuestionMarkAndEscapes) {
  EXPECT_TRUE(glob_match("file?.txt", "file1.txt"));
  EXPECT_FALSE(glob_match("file?.txt", "file/.txt"));
  EXPECT_TRUE(glob_match("[a-c]x", "bx"));
  EXPECT_FALSE(glob_match("[!a-c]x", "bx"));
  EXPECT_TRUE(glob_match("\\*", "*"));
  EXPECT_FALSE(glob_match("\\*", "a"));
}

TEST(HelperExcludes, NameWithoutSlashMatchesAtAnyDepth) {
  Excludes excludes;
  excludes.add("*.tmp");
  EXPECT_TRUE(excludes.excluded("a.tmp", false));
  EXPECT_TRUE(excludes.excluded("deep/down/a.tmp", false));
  EXPECT_FALSE(excludes.excluded("deep/a.tmp.keep", false));
}

TEST(HelperExcludes, TrailingSlashMatchesFoldersOnly) {
  Excludes excludes;
  excludes.add("cache/");
  EXPECT_TRUE(excludes.excluded("cache", true));
  EXPECT_TRUE(excludes.excluded("app/cache", true));
  EXPECT_FALSE(excludes.excluded("cache", false));
}

TEST(HelperExcludes, PathPatternsAreAnchoredAtTheRoot) {
  Excludes excludes;
  excludes.add("data/*.db");
  EXPECT_TRUE(excludes.excluded("data/x.db", false));
  EXPECT_FALSE(excludes.excluded("other/data/x.db", false));
}

TEST(HelperExcludes, NoPatternExcludesNothing) {
  Excludes excludes;
  EXPECT_FALSE(excludes.excluded("anything", false));
  EXPECT_FALSE(excludes.excluded("a/b", true));
}
}  // namespace
