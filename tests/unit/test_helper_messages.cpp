// What dockform reads from dockform-helper: its JSON-line messages, and the
// architecture of the binary it copies into the engine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "dockform/volume/helper_image.hpp"
#include "dockform/volume/helper_messages.hpp"

using dockform::volume::elf_architecture;
using dockform::volume::HelperMessages;
using dockform::volume::read_helper_messages;

TEST(HelperMessages, WarningsNameThePathAndWhatHappened) {
  auto report = read_helper_messages(
      "{\"level\":\"warning\",\"kind\":\"vanished\",\"path\":\"./a/b\"}\n"
      "{\"level\":\"warning\",\"kind\":\"shrank\",\"path\":\"./big\",\"message\":\"file shrank while read; padded "
      "with zeros\"}\n"
      "{\"level\":\"info\",\"kind\":\"done\",\"entries\":3,\"bytes\":10240}\n");
  ASSERT_EQ(report.warnings.size(), 2u);
  EXPECT_EQ(report.warnings[0], "./a/b: vanished while read (skipped)");
  EXPECT_EQ(report.warnings[1], "./big: file shrank while read; padded with zeros");
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(report.error_text(), "");
}

TEST(HelperMessages, ErrorsAndForeignLinesAreErrors) {
  // A line that is no JSON comes from something else (the engine's runtime,
  // a crash): it must not vanish.
  auto report = read_helper_messages(
      "{\"level\":\"error\",\"kind\":\"write\",\"path\":\"./x\",\"message\":\"No space left on device\"}\r\n"
      "exec format error\n\n"
      "{\"level\":\"error\",\"kind\":\"leftover\",\"path\":\".dockform-old-1\"}");
  ASSERT_EQ(report.errors.size(), 3u);
  EXPECT_EQ(report.errors[0], "./x: No space left on device");
  EXPECT_EQ(report.errors[1], "exec format error");
  EXPECT_EQ(report.errors[2], ".dockform-old-1: left by an interrupted restore");
  EXPECT_EQ(report.error_text(),
            "./x: No space left on device; exec format error; .dockform-old-1: left by an interrupted restore");
}

TEST(HelperMessages, TheEstimateIsReadAndIsNoWarning) {
  auto report = read_helper_messages("{\"level\":\"info\",\"kind\":\"estimate\",\"bytes\":675758592}\n");
  ASSERT_TRUE(report.estimate);
  EXPECT_EQ(*report.estimate, 675758592u);
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_TRUE(report.errors.empty());
  EXPECT_FALSE(read_helper_messages("{\"level\":\"info\",\"kind\":\"estimate\",\"bytes\":-1}").estimate);
  EXPECT_FALSE(read_helper_messages("{\"level\":\"info\",\"kind\":\"done\",\"bytes\":5}").estimate);
}

// A good run may warn about every path (ACLs on a filesystem without them):
// the first warnings are kept word for word, the rest counted, and nothing
// turns into an error.
TEST(HelperMessages, ManyWarningsAreSummarisedNotCut) {
  std::string text;
  for (int i = 0; i < 100000; ++i) {
    text += "{\"level\":\"warning\",\"kind\":\"metadata\",\"path\":\"./d/f" + std::to_string(i) +
            "\",\"message\":\"Can't restore ACLs: Operation not supported\"}\n";
  }
  text += "{\"level\":\"info\",\"kind\":\"done\",\"entries\":100000,\"bytes\":51200000}\n";
  auto report = read_helper_messages(text);
  EXPECT_TRUE(report.errors.empty()) << report.error_text().substr(0, 300);
  ASSERT_EQ(report.warnings.size(), 1001u);
  EXPECT_EQ(report.warnings[0], "./d/f0: Can't restore ACLs: Operation not supported");
  EXPECT_EQ(report.warnings[999], "./d/f999: Can't restore ACLs: Operation not supported");
  EXPECT_EQ(report.warnings[1000], "... and 99,000 more warnings");
}

// The same lines in pieces of any size, as they come from the engine; a line
// past 64 KiB is counted by its level, not parsed.
TEST(HelperMessages, PiecesAndOverlongLines) {
  HelperMessages messages;
  std::string text = "{\"level\":\"info\",\"kind\":\"estimate\",\"bytes\":42}\n";
  for (int i = 0; i < 3000; ++i) {
    text += "{\"level\":\"warning\",\"kind\":\"vanished\",\"path\":\"./p" + std::to_string(i) + "\"}\n";
  }
  text += "{\"level\":\"warning\",\"kind\":\"vanished\",\"path\":\"./" + std::string(100000, 'x') + "\"}\n";
  text += "{\"level\":\"error\",\"kind\":\"write\",\"path\":\"./" + std::string(100000, 'y') + "\"}\n";
  text += "exec format error";
  for (std::size_t at = 0; at < text.size(); at += 7) messages.feed(std::string_view(text).substr(at, 7));
  auto report = messages.report();
  ASSERT_TRUE(report.estimate);
  EXPECT_EQ(*report.estimate, 42u);
  ASSERT_EQ(report.warnings.size(), 1001u);
  EXPECT_EQ(report.warnings[0], "./p0: vanished while read (skipped)");
  EXPECT_EQ(report.warnings[1000], "... and 2,001 more warnings");
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_TRUE(report.errors[0].starts_with("{\"level\":\"error\",\"kind\":\"write\",\"path\":\"./yyy"))
      << report.errors[0];
  EXPECT_TRUE(report.errors[0].ends_with("... (a message longer than 64 KiB, cut)")) << report.errors[0];
  EXPECT_LT(report.errors[0].size(), 300u);
  EXPECT_EQ(report.errors[1], "exec format error");
}

TEST(HelperImage, ElfArchitectureFromTheMachineField) {
  std::string elf(64, '\0');
  elf.replace(0, 4,
              "\x7f"
              "ELF");
  elf[4] = 2;  // 64-bit
  elf[5] = 1;  // little endian
  elf[18] = 62;
  EXPECT_EQ(elf_architecture(elf), "amd64");
  elf[18] = static_cast<char>(183);
  EXPECT_EQ(elf_architecture(elf), "arm64");
  elf[18] = 21;
  EXPECT_EQ(elf_architecture(elf), "ppc64le");
  elf[5] = 2;  // big endian: the machine's bytes swap
  elf[18] = 0;
  elf[19] = 22;
  EXPECT_EQ(elf_architecture(elf), "s390x");
  elf[19] = 99;
  EXPECT_EQ(elf_architecture(elf), "");
  EXPECT_EQ(elf_architecture("#!/bin/sh\n"), "");
  EXPECT_EQ(elf_architecture(""), "");
}

// The order of the places the helper is looked for: beside the binary (the
// build folder), PREFIX/libexec/dockform/, the package's /usr/libexec/dockform/.
TEST(HelperImage, HelperIsLookedForBesideThenInLibexec) {
  ::unsetenv("DOCKFORM_HELPER_BINARY");
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  auto places = dockform::volume::helper_binary_candidates();
  ASSERT_EQ(places.size(), 3u);
  EXPECT_EQ(places[0], self.parent_path() / "dockform-helper");
  EXPECT_EQ(places[1], self.parent_path().parent_path() / "libexec/dockform/dockform-helper");
  EXPECT_EQ(places[2], std::filesystem::path("/usr/libexec/dockform/dockform-helper"));

  ::setenv("DOCKFORM_HELPER_BINARY", "/opt/x/dockform-helper", 1);
  places = dockform::volume::helper_binary_candidates();
  ::unsetenv("DOCKFORM_HELPER_BINARY");
  ASSERT_EQ(places.size(), 1u);
  EXPECT_EQ(places[0], std::filesystem::path("/opt/x/dockform-helper"));
  // The unit tests are built beside dockform and its helper: the first place wins.
  if (std::filesystem::exists(self.parent_path() / "dockform-helper")) {
    EXPECT_EQ(dockform::volume::helper_binary_path(), self.parent_path() / "dockform-helper");
  }
}
