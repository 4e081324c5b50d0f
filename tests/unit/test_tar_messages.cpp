// judge_tar_output: the words busybox and GNU tar print when a volume changes
// under them (measured with busybox 1.35 and GNU tar 1.34).
#include <gtest/gtest.h>

#include "dockform/volume/tar_messages.hpp"

using dockform::volume::judge_tar_output;
using Kind = dockform::volume::TarVerdict::Kind;

TEST(TarVerdict, CleanRunIsOk) {
  auto verdict = judge_tar_output(0, "", true);
  EXPECT_EQ(verdict.kind, Kind::ok);
  EXPECT_TRUE(verdict.changes.empty());
}

TEST(TarVerdict, BusyboxVanishedPathsAreWarnings) {
  auto verdict = judge_tar_output(1,
                                  "tar: ./f134: No such file or directory\n"
                                  "tar: can't open './f7': No such file or directory\n"
                                  "tar: error exit delayed from previous errors\n",
                                  true);
  EXPECT_EQ(verdict.kind, Kind::ok);
  ASSERT_EQ(verdict.changes.size(), 2u);
  EXPECT_EQ(verdict.changes[0], "./f134: No such file or directory");
  EXPECT_EQ(verdict.changes[1], "can't open './f7': No such file or directory");
}

TEST(TarVerdict, GnuChangesAreWarnings) {
  auto verdict = judge_tar_output(1,
                                  "tar: ./a: File removed before we read it\n"
                                  "tar: .: file changed as we read it\n"
                                  "tar: ./b: File shrank by 4096 bytes; padding with zeros\n",
                                  true);
  EXPECT_EQ(verdict.kind, Kind::ok);
  EXPECT_EQ(verdict.changes.size(), 3u);
}

TEST(TarVerdict, BusyboxShortReadIsRetried) {
  auto verdict = judge_tar_output(1, "tar: short read\n", false);
  EXPECT_EQ(verdict.kind, Kind::retry);
  verdict = judge_tar_output(1, "tar: ./x: No such file or directory\ntar: short read", false);
  EXPECT_EQ(verdict.kind, Kind::retry);
}

TEST(TarVerdict, OtherErrorsFail) {
  EXPECT_EQ(judge_tar_output(1, "tar: ./secret: Permission denied\n", true).kind, Kind::failed);
  EXPECT_EQ(judge_tar_output(1, "tar: read error: Input/output error\ntar: short read\n", false).kind, Kind::failed);
  EXPECT_EQ(judge_tar_output(2, "tar: ./a: Cannot open: Permission denied\n", true).kind, Kind::failed);
  // GNU's exit 2 fails even when the only other words are change notices.
  EXPECT_EQ(judge_tar_output(2, "tar: ./a: file changed as we read it\n", true).kind, Kind::failed);
  // An exit 1 that names no changed path is not explained by a change.
  EXPECT_EQ(judge_tar_output(1, "", true).kind, Kind::failed);
  // A stream that stopped short without "short read" is not retried.
  EXPECT_EQ(judge_tar_output(137, "", false).kind, Kind::failed);
}

TEST(TarVerdict, NoticesOfASuccessfulTarArePassedOn) {
  auto verdict = judge_tar_output(0, "tar: ./sock: socket ignored\n", true);
  EXPECT_EQ(verdict.kind, Kind::ok);
  ASSERT_EQ(verdict.changes.size(), 1u);
  EXPECT_EQ(verdict.changes[0], "./sock: socket ignored");
}
