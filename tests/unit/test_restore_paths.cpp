// `volume restore --path`: the paths' normal form and the member filter the
// helper applies (util/subtree.hpp), and the option's checks (ops).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dockform/ops/restore.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/subtree.hpp"
#include "test_support.hpp"

namespace dockform {
namespace {

using subtree::Pick;
using test::expect_error;
using Paths = std::vector<std::string>;

TEST(RestorePaths, NormalFormDropsDotsSlashesAndTheLeadingSlash) {
  EXPECT_EQ(subtree::normalise("./etc//app/"), "etc/app");
  EXPECT_EQ(subtree::normalise("/etc/./app"), "etc/app");
  EXPECT_EQ(subtree::normalise("etc"), "etc");
  EXPECT_EQ(subtree::normalise("..."), "...");
  EXPECT_EQ(subtree::normalise("a/../b"), "a/../b");
  for (const char* root : {"", ".", "/", "./", ".//."}) EXPECT_EQ(subtree::normalise(root), "") << root;
}

TEST(RestorePaths, AtOrBelowNeedsAWholeComponent) {
  EXPECT_TRUE(subtree::is_at_or_below("etc", "etc"));
  EXPECT_TRUE(subtree::is_at_or_below("etc/app/x", "etc"));
  EXPECT_FALSE(subtree::is_at_or_below("etcetera", "etc"));
  EXPECT_FALSE(subtree::is_at_or_below("et", "etc"));
  EXPECT_TRUE(subtree::is_above("", "etc"));
  EXPECT_TRUE(subtree::is_above("a", "a/b/c"));
  EXPECT_TRUE(subtree::is_above("a/b", "a/b/c"));
  EXPECT_FALSE(subtree::is_above("a/b/c", "a/b/c"));
  EXPECT_FALSE(subtree::is_above("a/bc", "a/b/c"));
}

TEST(RestorePaths, ProblemsAreTheRootDotDotAndReservedNames) {
  EXPECT_EQ(subtree::restore_path_problem("etc/app"), "");
  EXPECT_NE(subtree::restore_path_problem(""), "");
  EXPECT_NE(subtree::restore_path_problem("a/../b"), "");
  EXPECT_NE(subtree::restore_path_problem(".."), "");
  EXPECT_NE(subtree::restore_path_problem(".dockform-old-abc123/x"), "");
  // Only the exact reserved form is ours: a user's look-alike is a path like any other.
  EXPECT_EQ(subtree::restore_path_problem(".dockform-old-notes.txt"), "");
  EXPECT_EQ(subtree::restore_path_problem("a/.dockform-old-abc123"), "");
}

TEST(RestorePaths, OutermostSortsDeduplicatesAndDropsNestedPaths) {
  EXPECT_EQ(subtree::outermost({"b", "a/b", "a", "a", "a-b", "ab/c"}), (Paths{"a", "a-b", "ab/c", "b"}));
  EXPECT_EQ(subtree::outermost({"a/b/c", "a/b"}), (Paths{"a/b"}));
  EXPECT_EQ(subtree::outermost({}), Paths{});
}

TEST(RestorePaths, PickKeepsSubtreesAndTheFoldersAboveThem) {
  Paths paths = {"data/db", "etc/app.conf"};
  EXPECT_EQ(subtree::pick("data/db", paths), Pick::subtree);
  EXPECT_EQ(subtree::pick("data/db/table/1", paths), Pick::subtree);
  EXPECT_EQ(subtree::pick("etc/app.conf", paths), Pick::subtree);
  EXPECT_EQ(subtree::pick("data", paths), Pick::ancestor);
  EXPECT_EQ(subtree::pick("etc", paths), Pick::ancestor);
  EXPECT_EQ(subtree::pick("", paths), Pick::skip);  // the root: a partial restore leaves it alone
  EXPECT_EQ(subtree::pick("data/dbx", paths), Pick::skip);
  EXPECT_EQ(subtree::pick("data/other", paths), Pick::skip);
  EXPECT_EQ(subtree::pick("etc/app.conf.bak", paths), Pick::skip);
  EXPECT_EQ(subtree::pick("var", paths), Pick::skip);
}

TEST(RestorePaths, OptionNormalisesAndRefuses) {
  EXPECT_EQ(ops::restore_paths({"/etc/", "./etc/app", "data//db"}), (Paths{"data/db", "etc"}));
  EXPECT_EQ(ops::restore_paths({}), Paths{});
  expect_error([] { ops::restore_paths({"."}); }, Exit::usage, "whole volume");
  expect_error([] { ops::restore_paths({"a/../../etc"}); }, Exit::usage, "'..'");
  expect_error([] { ops::restore_paths({".dockform-swap-abc"}); }, Exit::usage, "reserved");
}

}  // namespace
}  // namespace dockform
