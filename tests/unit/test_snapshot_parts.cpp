// Snapshot building blocks that need no daemon: the spec hash, member safety,
// the tar walker, the sidecar, file naming and reading snapshot files.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/archive/checked_walk.hpp"
#include "dockform/archive/sidecar.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/archive/spec_hash.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"
#include "test_support.hpp"

namespace dockform {
using namespace archive;
using namespace store;
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::message_of;
using test::random_bytes;
using test::TempDir;
using test::read_all;
using test::write_plain;
using Map = std::map<std::string, std::string>;
using Type = TarEntry::Type;

// ---------------------------------------------------------------------------
// Helpers

TarEntry entry_of(std::string path, Type type, std::string target = "") {
  TarEntry entry;
  entry.path = std::move(path);
  entry.type = type;
  entry.target = std::move(target);
  return entry;
}

// ---- building tar streams with libarchive's writer

struct Member {
  std::string path;
  Type type = Type::file;
  std::string content;  // regular files
  std::string link;     // symlink / hardlink target
};

la_ssize_t append_to_string(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

using SetFormat = int (*)(struct archive*);

std::string make_tar(const std::vector<Member>& members,
                     SetFormat set_format = archive_write_set_format_pax_restricted) {
  std::string out;
  struct archive* writer = archive_write_new();
  if (set_format(writer) != ARCHIVE_OK) ADD_FAILURE() << archive_error_string(writer);
  archive_write_set_bytes_in_last_block(writer, 1);  // no padding to 10 KiB
  if (archive_write_open(writer, &out, nullptr, &append_to_string, nullptr) != ARCHIVE_OK) {
    ADD_FAILURE() << archive_error_string(writer);
  }
  for (const auto& member : members) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, member.path.c_str());
    archive_entry_set_mtime(entry, 1696433445, 0);
    archive_entry_set_uid(entry, 1000);
    archive_entry_set_gid(entry, 1000);
    switch (member.type) {
      case Type::file:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_entry_set_size(entry, static_cast<la_int64_t>(member.content.size()));
        break;
      case Type::hardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_entry_set_hardlink(entry, member.link.c_str());
        archive_entry_set_size(entry, 0);
        break;
      case Type::directory:
        archive_entry_set_filetype(entry, AE_IFDIR);
        archive_entry_set_perm(entry, 0755);
        break;
      case Type::symlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_perm(entry, 0777);
        archive_entry_set_symlink(entry, member.link.c_str());
        break;
      case Type::fifo:
        archive_entry_set_filetype(entry, AE_IFIFO);
        archive_entry_set_perm(entry, 0600);
        break;
      default: ADD_FAILURE() << "unsupported member type in test"; break;
    }
    if (archive_write_header(writer, entry) != ARCHIVE_OK) ADD_FAILURE() << archive_error_string(writer);
    if (member.type == Type::file && !member.content.empty()) {
      auto written = archive_write_data(writer, member.content.data(), member.content.size());
      if (written != static_cast<la_ssize_t>(member.content.size())) ADD_FAILURE() << archive_error_string(writer);
    }
    archive_entry_free(entry);
  }
  if (archive_write_close(writer) != ARCHIVE_OK) ADD_FAILURE() << archive_error_string(writer);
  archive_write_free(writer);
  return out;
}

// A TarWalker source over `bytes`, served `block` bytes at a time.
TarWalker::Source serve(const std::string& bytes, std::size_t block) {
  auto pos = std::make_shared<std::size_t>(0);
  return [&bytes, block, pos]() -> std::string_view {
    auto part = std::string_view(bytes).substr(*pos, block);
    *pos += part.size();
    return part;
  };
}

struct Walked {
  TarEntry entry;
  std::int64_t data_offset = -1;
};

std::vector<Walked> walk_all(const std::string& tar, std::size_t block) {
  TarWalker walker(serve(tar, block));
  std::vector<Walked> out;
  std::int64_t offset = -1;
  while (auto entry = walker.next([&](const TarEntry&, std::int64_t data_offset) { offset = data_offset; })) {
    out.push_back({*entry, offset});
  }
  return out;
}

// The members used by most TarWalker tests.
std::vector<Member> sample_members() {
  const std::string long_name = "./" + std::string(40, 'd') + "/" + std::string(120, 'f') + ".txt";
  return {
      {"./", Type::directory, "", ""},
      {"./etc/", Type::directory, "", ""},  // libarchive's writer adds the slash
      {"./etc/hello.txt", Type::file, "hello, world\n", ""},
      {"./empty", Type::file, "", ""},
      {"./exactly-512", Type::file, std::string(512, 'x'), ""},
      {"./big.bin", Type::file, random_bytes(100001, 77), ""},
      {"./link-to-hello", Type::symlink, "", "etc/hello.txt"},
      {"./dangling", Type::symlink, "", "/nowhere/at/all"},
      {"./hard-hello", Type::hardlink, "", "./etc/hello.txt"},
      {"./pipe", Type::fifo, "", ""},
      {long_name, Type::file, "content behind a pax header", ""},
      {"./.dotfile", Type::file, "dot", ""},
  };
}

// ---------------------------------------------------------------------------
// spec_text / spec_hash: the two examples the snapshot format documents
// (5df65d76 and 8f0c12d0)

TEST(SnapshotSpecHash, IdentifierLabelOnly) {
  const Map opts;
  const Map labels{{"io.dockform.identifier", "myproject"}};
  EXPECT_EQ(spec_text("local", opts, labels), "driver=local|opts=|labels=io.dockform.identifier=myproject");
  EXPECT_EQ(spec_hash("local", opts, labels), "5df65d76");
}

TEST(SnapshotSpecHash, BindOptionsAndUnsortedLabels) {
  const Map opts{{"type", "none"}, {"o", "bind"}};
  const Map labels{{"b", "2"}, {"a", "1"}};
  EXPECT_EQ(spec_text("local", opts, labels), "driver=local|opts=o=bind;type=none|labels=a=1;b=2");
  EXPECT_EQ(spec_hash("local", opts, labels), "8f0c12d0");
}

TEST(SnapshotSpecHash, KeysSortedBytewise) {
  // Uppercase (0x41-0x5a) before '_' (0x5f) before lowercase, and UTF-8
  // bytes (>= 0x80) after all of ASCII.
  const Map labels{{"b", "1"}, {"\xc3\xa9t\xc3\xa9", "5"}, {"a", "2"}, {"_x", "3"}, {"B", "4"}, {"Z", "6"}};
  EXPECT_EQ(spec_text("local", {}, labels), "driver=local|opts=|labels=B=4;Z=6;_x=3;a=2;b=1;\xc3\xa9t\xc3\xa9=5");
  const Map opts{{"device", "/dev/sdb1"}, {"Type", "ext4"}, {"o", "rw"}};
  EXPECT_EQ(spec_text("local", opts, {}), "driver=local|opts=Type=ext4;device=/dev/sdb1;o=rw|labels=");
}

TEST(SnapshotSpecHash, HashIsTheFirstEightHexDigitsOfTheText) {
  const Map opts{{"o", "bind"}};
  const Map labels{{"x", "y"}};
  const std::string text = spec_text("nfs", opts, labels);
  EXPECT_EQ(text, "driver=nfs|opts=o=bind|labels=x=y");
  const std::string hash = spec_hash("nfs", opts, labels);
  EXPECT_EQ(hash, util::sha256_hex(text).substr(0, 8));
  EXPECT_EQ(hash.size(), 8u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  // Every part of the spec matters.
  EXPECT_NE(spec_hash("local", opts, labels), hash);
  EXPECT_NE(spec_hash("nfs", {}, labels), hash);
  EXPECT_NE(spec_hash("nfs", opts, {}), hash);
  EXPECT_EQ(spec_text("", {}, {}), "driver=|opts=|labels=");
}

// ---------------------------------------------------------------------------
// normalise_member_path, MemberSafety

TEST(SnapshotNormaliseMemberPath, Examples) {
  EXPECT_EQ(normalise_member_path("./a//b/./c"), "a/b/c");
  EXPECT_EQ(normalise_member_path("./etc/passwd"), "etc/passwd");
  EXPECT_EQ(normalise_member_path("etc/passwd"), "etc/passwd");
  EXPECT_EQ(normalise_member_path("./dir/"), "dir");
  EXPECT_EQ(normalise_member_path("./"), "");
  EXPECT_EQ(normalise_member_path("."), "");
  EXPECT_EQ(normalise_member_path(""), "");
  EXPECT_EQ(normalise_member_path(".//./"), "");
  EXPECT_EQ(normalise_member_path("./a..b/.hidden"), "a..b/.hidden");
}

TEST(SnapshotMemberSafety, NormalMembersPass) {
  MemberSafety safety;
  EXPECT_EQ(safety.check(entry_of("./", Type::directory)), "");
  EXPECT_EQ(safety.check(entry_of("./etc", Type::directory)), "");
  EXPECT_EQ(safety.check(entry_of("./etc/passwd", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./a..b", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./..hidden", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./x/...", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("plain/relative", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./pipe", Type::fifo)), "");
  EXPECT_EQ(safety.check(entry_of("./hard", Type::hardlink, "./etc/passwd")), "");
  EXPECT_EQ(safety.check(entry_of("./hard2", Type::hardlink, "etc/passwd")), "");
  // A symlink may point anywhere: it is the members under it that are refused.
  EXPECT_EQ(safety.check(entry_of("./abs-link", Type::symlink, "/etc")), "");
  EXPECT_EQ(safety.check(entry_of("./up-link", Type::symlink, "../../x")), "");
  // A member whose name merely starts like a symlink's is fine.
  EXPECT_EQ(safety.check(entry_of("./abs-link2/file", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./abs-linker", Type::file)), "");
}

TEST(SnapshotMemberSafety, AbsolutePathRefused) {
  MemberSafety safety;
  EXPECT_NE(safety.check(entry_of("/etc/passwd", Type::file)), "");
  EXPECT_NE(safety.check(entry_of("/", Type::directory)), "");
  EXPECT_NE(safety.check(entry_of("/tmp/link", Type::symlink, "x")), "");
}

TEST(SnapshotMemberSafety, DotDotComponentsRefused) {
  MemberSafety safety;
  for (const char* path : {"..", "../x", "./../x", "a/../b", "./a/b/../../../etc/passwd", "a/..", "./x/..//y"}) {
    EXPECT_NE(safety.check(entry_of(path, Type::file)), "") << path;
    EXPECT_NE(safety.check(entry_of(path, Type::directory)), "") << path;
  }
}

TEST(SnapshotMemberSafety, EmptyNameRefused) {
  MemberSafety safety;
  EXPECT_NE(safety.check(entry_of("", Type::file)), "");
}

TEST(SnapshotMemberSafety, MemberUnderASymlinkRefused) {
  MemberSafety safety;
  EXPECT_EQ(safety.check(entry_of("./link", Type::symlink, "/etc")), "");
  EXPECT_NE(safety.check(entry_of("./link/passwd", Type::file)), "");
  // Other spellings of the same path.
  EXPECT_NE(safety.check(entry_of("link/passwd", Type::file)), "");
  EXPECT_NE(safety.check(entry_of(".//link/./passwd", Type::file)), "");
  EXPECT_NE(safety.check(entry_of("./link/sub/deeper", Type::directory)), "");
  EXPECT_NE(safety.check(entry_of("./link/", Type::directory)), "");
  // Unrelated members are still fine afterwards.
  EXPECT_EQ(safety.check(entry_of("./other/passwd", Type::file)), "");
}

TEST(SnapshotMemberSafety, NestedSymlinkRefusesMembersUnderIt) {
  MemberSafety safety;
  EXPECT_EQ(safety.check(entry_of("./a", Type::directory)), "");
  EXPECT_EQ(safety.check(entry_of("./a/b", Type::symlink, "../../..")), "");
  EXPECT_NE(safety.check(entry_of("./a/b/c", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./a/c", Type::file)), "");
}

TEST(SnapshotMemberSafety, HardlinkThroughASymlinkRefused) {
  MemberSafety safety;
  EXPECT_EQ(safety.check(entry_of("./link", Type::symlink, "/etc")), "");
  EXPECT_NE(safety.check(entry_of("./innocent", Type::hardlink, "./link/shadow")), "");
  EXPECT_NE(safety.check(entry_of("./innocent2", Type::hardlink, "link/shadow")), "");
}

// `cp -al` and rsnapshot trees: libarchive stores a second name of a symlink
// as a hardlink to it. link(2) does not follow the symlink: the new name is
// the same symlink inode, so it is safe; and a member under that name would
// be written through the symlink, like one under the symlink itself.
TEST(SnapshotMemberSafety, HardlinkToASymlinkPasses) {
  MemberSafety safety;
  EXPECT_EQ(safety.check(entry_of("./d", Type::directory)), "");
  EXPECT_EQ(safety.check(entry_of("./d/sl", Type::symlink, "/etc")), "");
  EXPECT_EQ(safety.check(entry_of("./sl2", Type::hardlink, "./d/sl")), "");
  EXPECT_EQ(safety.check(entry_of("sl3", Type::hardlink, "sl2")), "");  // a third name, through the second
  EXPECT_NE(safety.check(entry_of("./sl2/passwd", Type::file)), "");
  EXPECT_NE(safety.check(entry_of("./sl3/passwd", Type::file)), "");
  EXPECT_NE(safety.check(entry_of("./h", Type::hardlink, "sl2/passwd")), "");
  // A hardlink to a file is no symlink: members under its name are checked as before.
  EXPECT_EQ(safety.check(entry_of("./f", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./f2", Type::hardlink, "f")), "");
}

TEST(SnapshotMemberSafety, HardlinkThroughASymlinkParentRefused) {
  MemberSafety safety;
  EXPECT_EQ(safety.check(entry_of("./d2", Type::directory)), "");
  EXPECT_EQ(safety.check(entry_of("./d2/f", Type::file)), "");
  EXPECT_EQ(safety.check(entry_of("./l", Type::symlink, "d2")), "");
  EXPECT_EQ(safety.check(entry_of("./h", Type::hardlink, "l/f")), "hardlink ./h points through a symlink");
  EXPECT_EQ(safety.check(entry_of("./h2", Type::hardlink, "./l/./f")), "hardlink ./h2 points through a symlink");
}

TEST(SnapshotMemberSafety, HardlinkOutsideTheVolumeRefused) {
  MemberSafety safety;
  EXPECT_NE(safety.check(entry_of("./h1", Type::hardlink, "/etc/shadow")), "");
  EXPECT_NE(safety.check(entry_of("./h2", Type::hardlink, "../x")), "");
  EXPECT_NE(safety.check(entry_of("./h3", Type::hardlink, "./a/../../x")), "");
  EXPECT_NE(safety.check(entry_of("./h4", Type::hardlink, "")), "");
}

TEST(SnapshotMemberSafety, VolumeRoot) {
  {
    MemberSafety safety;
    EXPECT_EQ(safety.check(entry_of("./", Type::directory)), "");
    EXPECT_EQ(safety.check(entry_of(".", Type::directory)), "");
  }
  {
    MemberSafety safety;
    EXPECT_NE(safety.check(entry_of("./", Type::symlink, "/")), "");
    EXPECT_NE(safety.check(entry_of(".", Type::symlink, "/etc")), "");
    EXPECT_NE(safety.check(entry_of("./", Type::file)), "");
  }
}

// ---------------------------------------------------------------------------
// TarWalker

TEST(SnapshotTarWalker, TypesSizesAndCounts) {
  const auto members = sample_members();
  const std::string tar = make_tar(members);
  const auto walked = walk_all(tar, 1 << 16);
  ASSERT_EQ(walked.size(), members.size());
  std::size_t files = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& got = walked[i].entry;
    const auto& want = members[i];
    EXPECT_EQ(got.path, want.path);
    EXPECT_EQ(got.type, want.type) << want.path;
    if (want.type == Type::file) {
      EXPECT_EQ(got.size, static_cast<std::int64_t>(want.content.size())) << want.path;
    }
    if (want.type == Type::symlink || want.type == Type::hardlink) {
      EXPECT_EQ(got.target, want.link) << want.path;
    }
    EXPECT_EQ(got.counts_as_file(), want.type == Type::file || want.type == Type::hardlink) << want.path;
    EXPECT_FALSE(got.sparse);
    if (got.counts_as_file()) ++files;
  }
  // 6 regular files + 1 hardlink, as `find -type f | wc -l` counts them.
  EXPECT_EQ(files, 7u);
}

TEST(SnapshotTarWalker, DataOffsetPointsAtTheContent) {
  const auto members = sample_members();
  const std::string tar = make_tar(members);
  const auto walked = walk_all(tar, 1 << 16);
  ASSERT_EQ(walked.size(), members.size());
  std::int64_t previous = -1;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto offset = walked[i].data_offset;
    EXPECT_EQ(offset % 512, 0) << members[i].path;
    EXPECT_GT(offset, previous) << members[i].path;
    previous = offset;
    ASSERT_LE(offset, static_cast<std::int64_t>(tar.size()));
    if (members[i].type == Type::file) {
      const auto pos = static_cast<std::size_t>(offset);
      EXPECT_TRUE(tar.compare(pos, members[i].content.size(), members[i].content) == 0) << members[i].path;
    }
  }
}

struct TarFormat {
  const char* name;
  SetFormat set_format;
  bool long_names;
};

class SnapshotTarWalkerFormats : public ::testing::TestWithParam<TarFormat> {};

TEST_P(SnapshotTarWalkerFormats, MembersOffsetsAndCounts) {
  const auto format = GetParam();
  std::vector<Member> members;
  for (auto& member : sample_members()) {
    if (format.long_names || member.path.size() < 100) members.push_back(member);
  }
  if (format.long_names) {
    members.push_back({"./long-target", Type::symlink, "", std::string(200, 't')});
    members.push_back({"./" + std::string(150, 'h'), Type::hardlink, "", "./etc/hello.txt"});
    members.push_back({"./after-long-link", Type::file, "after", ""});
  }
  const std::string tar = make_tar(members, format.set_format);
  for (std::size_t block : {std::size_t{7}, tar.size()}) {
    const auto walked = walk_all(tar, block);
    ASSERT_EQ(walked.size(), members.size()) << format.name;
    std::size_t files = 0;
    std::size_t expected_files = 0;
    for (std::size_t i = 0; i < members.size(); ++i) {
      const auto& got = walked[i].entry;
      const auto& want = members[i];
      EXPECT_EQ(got.path, want.path) << format.name;
      EXPECT_EQ(got.type, want.type) << format.name << " " << want.path;
      if (want.type == Type::symlink || want.type == Type::hardlink) {
        EXPECT_EQ(got.target, want.link) << format.name << " " << want.path;
      }
      EXPECT_EQ(walked[i].data_offset % 512, 0) << format.name << " " << want.path;
      if (want.type == Type::file) {
        EXPECT_EQ(got.size, static_cast<std::int64_t>(want.content.size()));
        EXPECT_TRUE(tar.compare(static_cast<std::size_t>(walked[i].data_offset), want.content.size(), want.content) ==
                    0)
            << format.name << " " << want.path;
      }
      if (got.counts_as_file()) ++files;
      if (want.type == Type::file || want.type == Type::hardlink) ++expected_files;
    }
    EXPECT_EQ(files, expected_files) << format.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, SnapshotTarWalkerFormats,
                         ::testing::Values(TarFormat{"pax_restricted", archive_write_set_format_pax_restricted, true},
                                           TarFormat{"pax", archive_write_set_format_pax, true},
                                           TarFormat{"gnutar", archive_write_set_format_gnutar, true},
                                           TarFormat{"ustar", archive_write_set_format_ustar, false}),
                         [](const ::testing::TestParamInfo<TarFormat>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(SnapshotTarWalker, TinySourceBlocksGiveTheSameResult) {
  const auto members = sample_members();
  const std::string tar = make_tar(members);
  const auto reference = walk_all(tar, tar.size());
  for (std::size_t block : {std::size_t{1}, std::size_t{7}, std::size_t{511}, std::size_t{513}}) {
    const auto walked = walk_all(tar, block);
    ASSERT_EQ(walked.size(), reference.size()) << "block " << block;
    for (std::size_t i = 0; i < walked.size(); ++i) {
      EXPECT_EQ(walked[i].entry.path, reference[i].entry.path) << "block " << block;
      EXPECT_EQ(walked[i].entry.type, reference[i].entry.type) << "block " << block;
      EXPECT_EQ(walked[i].entry.size, reference[i].entry.size) << "block " << block;
      EXPECT_EQ(walked[i].entry.target, reference[i].entry.target) << "block " << block;
      EXPECT_EQ(walked[i].data_offset, reference[i].data_offset) << "block " << block << " " << walked[i].entry.path;
    }
  }
}

TEST(SnapshotTarWalker, ConsumedReachesTheEndOfArchiveMarker) {
  const std::string tar = make_tar({{"./a", Type::file, "abc", ""}});
  TarWalker walker(serve(tar, 100));
  ASSERT_TRUE(walker.next().has_value());
  EXPECT_EQ(walker.consumed(), 1024);  // header + one data block
  EXPECT_FALSE(walker.next().has_value());
  EXPECT_GE(walker.consumed(), 1024);
  EXPECT_LE(walker.consumed(), static_cast<std::int64_t>(tar.size()));
}

TEST(SnapshotTarWalker, EmptyArchive) {
  const std::string tar = make_tar({});
  EXPECT_TRUE(walk_all(tar, 7).empty());
}

TEST(SnapshotTarWalker, TruncatedInsideFileDataThrows) {
  const auto members = sample_members();
  const std::string tar = make_tar(members);
  const auto walked = walk_all(tar, tar.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (members[i].type != Type::file || members[i].content.size() < 2) continue;
    const auto cut = static_cast<std::size_t>(walked[i].data_offset) + members[i].content.size() / 2;
    const std::string truncated = tar.substr(0, cut);
    for (std::size_t block : {std::size_t{7}, std::size_t{65536}}) {
      std::string message = message_of([&] { walk_all(truncated, block); });
      EXPECT_TRUE(contains(message, "damaged")) << members[i].path << ": " << message;
    }
  }
}

TEST(SnapshotTarWalker, TruncatedInsideAHeaderThrows) {
  const auto members = sample_members();
  const std::string tar = make_tar(members);
  const auto walked = walk_all(tar, tar.size());
  // Cut into the first header, and into the header of every later member
  // that directly follows a 512-byte-aligned data end.
  std::vector<std::size_t> cuts = {100, 511};
  for (std::size_t i = 0; i + 1 < members.size(); ++i) {
    const auto data_start = static_cast<std::size_t>(walked[i].data_offset);
    const std::size_t size = members[i].type == Type::file ? members[i].content.size() : 0;
    const std::size_t next_header = data_start + (size + 511) / 512 * 512;
    cuts.push_back(next_header + 1);
    cuts.push_back(next_header + 300);
  }
  for (std::size_t cut : cuts) {
    ASSERT_LT(cut, tar.size());
    const std::string truncated = tar.substr(0, cut);
    for (std::size_t block : {std::size_t{7}, std::size_t{65536}}) {
      std::string message = message_of([&] { walk_all(truncated, block); });
      EXPECT_TRUE(contains(message, "damaged")) << "cut at " << cut << ": " << message;
    }
  }
}

TEST(SnapshotTarWalker, GarbageThrows) {
  const std::string garbage = random_bytes(4096, 5);
  std::string message = message_of([&] { walk_all(garbage, 512); });
  EXPECT_TRUE(contains(message, "damaged")) << message;
}

TEST(SnapshotTarWalker, CorruptHeaderChecksumThrows) {
  std::string tar = make_tar({{"./a", Type::file, "abc", ""}, {"./b", Type::file, "def", ""}});
  // Damage the name of the second header: its checksum no longer matches.
  tar[1024 + 3] = 'X';
  std::string message = message_of([&] { walk_all(tar, 512); });
  EXPECT_TRUE(contains(message, "damaged")) << message;
}

// libarchive answers a header whose checksum does not match with
// ARCHIVE_RETRY (-10, "Damaged tar archive"), which lies between ARCHIVE_WARN
// and ARCHIVE_OK. TarWalker::next must treat it as damage: were it taken as a
// member, `inspect` would see an entry with an empty path (MemberSafety would
// report "member with an empty name" instead of a damaged stream) and the
// walk would fail later in archive_read_data_skip with an internal error.
TEST(SnapshotTarWalker, CorruptHeaderIsNotHandedToInspect) {
  std::string tar = make_tar({{"./a", Type::file, "abc", ""}, {"./b", Type::file, "def", ""}});
  tar[1024 + 3] = 'X';
  TarWalker walker(serve(tar, 512));
  std::vector<TarEntry> inspected;
  auto inspect = [&](const TarEntry& entry, std::int64_t) { inspected.push_back(entry); };
  std::string message = message_of([&] {
    while (walker.next(inspect)) {
    }
  });
  EXPECT_TRUE(contains(message, "damaged")) << message;
  ASSERT_GE(inspected.size(), 1u);
  EXPECT_EQ(inspected[0].path, "./a");
  EXPECT_EQ(inspected.size(), 1u) << "bogus entry handed to inspect: path '" << inspected.back().path << "', type "
                                  << static_cast<int>(inspected.back().type) << ", size " << inspected.back().size
                                  << "; the walk then failed with: " << message;
}

TEST(SnapshotTarWalker, InspectMayStopTheWalk) {
  const std::string tar = make_tar(sample_members());
  TarWalker walker(serve(tar, 1000));
  int seen = 0;
  auto inspect = [&](const TarEntry& entry, std::int64_t) {
    ++seen;
    if (entry.type == Type::symlink) throw Error("stop here", Exit::refused);
  };
  try {
    while (walker.next(inspect)) {
    }
    ADD_FAILURE() << "inspect's exception did not stop the walk";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::refused);
    EXPECT_EQ(std::string(e.what()), "stop here");
  }
  EXPECT_EQ(seen, 7);  // the first symlink is the 7th member
}

TEST(SnapshotTarWalker, SourceExceptionIsPassedOn) {
  const std::string tar = make_tar(sample_members());
  std::size_t pos = 0;
  TarWalker walker([&]() -> std::string_view {
    if (pos >= 4096) throw Error("source failed", Exit::unreachable);
    auto part = std::string_view(tar).substr(pos, 512);
    pos += part.size();
    return part;
  });
  try {
    while (walker.next()) {
    }
    ADD_FAILURE() << "the source's exception was lost";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::unreachable);
    EXPECT_EQ(std::string(e.what()), "source failed");
  }
}

// ---------------------------------------------------------------------------
// Checked walk

// A pax tar (the helper's format) of `sparse`: `size` bytes whose data is the
// `extents` (offset, length) filled with 'x', holes between them; then
// `after`, stored as they are.
std::string make_sparse_tar(std::int64_t size, const std::vector<std::pair<std::int64_t, std::int64_t>>& extents,
                            const std::vector<Member>& after = {}) {
  std::string out;
  struct archive* writer = archive_write_new();
  archive_write_set_format_pax(writer);
  archive_write_set_bytes_in_last_block(writer, 1);
  archive_write_open(writer, &out, nullptr, &append_to_string, nullptr);
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, "./sparse");
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, size);
  for (auto [offset, length] : extents) archive_entry_sparse_add_entry(entry, offset, length);
  if (archive_write_header(writer, entry) != ARCHIVE_OK) ADD_FAILURE() << archive_error_string(writer);
  archive_entry_free(entry);
  // The writer takes every byte of the file and drops those of the holes.
  std::string chunk(1 << 20, '\0');
  for (std::int64_t at = 0; at < size; at += static_cast<std::int64_t>(chunk.size())) {
    auto length = std::min<std::int64_t>(size - at, static_cast<std::int64_t>(chunk.size()));
    std::fill(chunk.begin(), chunk.end(), '\0');
    for (auto [offset, extent] : extents) {
      auto from = std::max(offset, at), to = std::min(offset + extent, at + length);
      if (from < to) std::fill(chunk.begin() + (from - at), chunk.begin() + (to - at), 'x');
    }
    archive_write_data(writer, chunk.data(), static_cast<std::size_t>(length));
  }
  archive_write_close(writer);
  archive_write_free(writer);
  std::string rest = make_tar(after);
  // make_tar's stream ends with its own end-of-archive marker: splice the
  // first one off.
  out.resize(out.size() - 1024);
  return out + rest;
}

struct Released {
  std::uint64_t pulled = 0;
  std::uint64_t released = 0;
  std::uint64_t most_held = 0;  // pulled but not yet released, at its largest
};

// checked_walk over `tar` in 64 KiB blocks, as restore feeds the forwarder.
WalkSummary checked_walk_of(const std::string& tar, Released& seen) {
  auto inner = serve(tar, 64 << 10);
  auto source = [&]() -> std::string_view {
    auto block = inner();
    seen.pulled += block.size();
    seen.most_held = std::max(seen.most_held, seen.pulled - std::min(seen.pulled, seen.released));
    return block;
  };
  WalkSummary summary;
  checked_walk(source, OnUnsafe::refuse, summary, [&](std::uint64_t offset) {
    EXPECT_GE(offset, seen.released) << "released offsets only grow";
    seen.released = offset;
  });
  return summary;
}

// Where a sparse member's data ends is not in its header: it is released as
// it is read, not only once the next header was checked (which held all of
// it: the whole data of a 1 GiB sparse file with 192 MiB in dockform).
TEST(SnapshotCheckedWalk, SparseDataIsReleasedAsItIsRead) {
  const std::string tar =
      make_sparse_tar(32 << 20, {{0, 2 << 20}, {8 << 20, 2 << 20}, {16 << 20, 2 << 20}, {30 << 20, 2 << 20}},
                      {{"./after", Type::file, "after", ""}});
  ASSERT_GT(tar.size(), 8u << 20);
  ASSERT_TRUE(walk_all(tar, tar.size()).at(0).entry.sparse);
  Released seen;
  auto summary = checked_walk_of(tar, seen);
  EXPECT_EQ(summary.members, 2u);
  EXPECT_FALSE(summary.truncated);
  EXPECT_EQ(seen.released, std::numeric_limits<std::uint64_t>::max());
  EXPECT_LT(seen.most_held, 1u << 20) << "bytes of the sparse member held back";
}

// Released bytes never reach into a header that was not checked: an unsafe
// member right after a sparse one is refused before any of it is released.
TEST(SnapshotCheckedWalk, AHeaderAfterASparseMemberIsCheckedFirst) {
  const std::string tar = make_sparse_tar(4 << 20, {{1 << 20, 1 << 20}},
                                          {{"./l", Type::symlink, "", "/"}, {"./l/evil", Type::file, "evil", ""}});
  const auto walked = walk_all(tar, tar.size());
  ASSERT_EQ(walked.size(), 3u);
  Released seen;
  std::string message = message_of([&] { checked_walk_of(tar, seen); });
  EXPECT_TRUE(contains(message, "l/evil")) << message;
  // ./l has no data: where it starts is where ./l/evil's headers start.
  EXPECT_LE(seen.released, static_cast<std::uint64_t>(walked[1].data_offset));
}

// With its data read to the end, a sparse last member's end is known: a
// stream cut right after it (no end-of-archive marker) is truncated.
TEST(SnapshotCheckedWalk, AStreamCutAfterASparseMemberIsTruncated) {
  std::string tar = make_sparse_tar(4 << 20, {{1 << 20, 1 << 20}});
  Released whole;
  EXPECT_FALSE(checked_walk_of(tar, whole).truncated);
  // Keep the member (header, map, data, padding), drop the end-of-archive marker.
  tar.resize(tar.find_last_not_of('\0') / 512 * 512 + 512);
  Released cut;
  EXPECT_TRUE(checked_walk_of(tar, cut).truncated);
}

// ---------------------------------------------------------------------------
// Sidecar

Sidecar sample_sidecar() {
  Sidecar sidecar;
  sidecar.dockform_version = "0.6.0";
  sidecar.created_at = "2023-10-04T15:30:45Z";
  sidecar.volume_name = "myapp_data";
  sidecar.spec_hash = "5df65d76";
  sidecar.driver = "local";
  sidecar.labels = {{"io.dockform.identifier", "myproject"}};
  sidecar.uncompressed_bytes = 1048576;
  sidecar.file_count = 42;
  sidecar.checksum = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  sidecar.notes = "Before major upgrade to v2.0";
  return sidecar;
}

std::string without_final_newline(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST(SnapshotSidecar, TextHasTheSpecFieldOrderAndIndent) {
  const std::string expected = R"({
  "dockform_version": "0.6.0",
  "created_at": "2023-10-04T15:30:45Z",
  "volume_name": "myapp_data",
  "spec_hash": "5df65d76",
  "driver": "local",
  "driver_opts": {},
  "labels": {
    "io.dockform.identifier": "myproject"
  },
  "uncompressed_bytes": 1048576,
  "file_count": 42,
  "checksum": {
    "algo": "sha256",
    "tar_zst": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
  },
  "notes": "Before major upgrade to v2.0"
})";
  EXPECT_EQ(without_final_newline(sidecar_text(sample_sidecar())), expected);
}

TEST(SnapshotSidecar, NotesOmittedAndEmptyMapsAreObjects) {
  Sidecar sidecar = sample_sidecar();
  sidecar.notes.reset();
  sidecar.labels.clear();
  sidecar.driver_opts = {{"type", "none"}, {"o", "bind"}};
  const std::string expected = R"({
  "dockform_version": "0.6.0",
  "created_at": "2023-10-04T15:30:45Z",
  "volume_name": "myapp_data",
  "spec_hash": "5df65d76",
  "driver": "local",
  "driver_opts": {
    "o": "bind",
    "type": "none"
  },
  "labels": {},
  "uncompressed_bytes": 1048576,
  "file_count": 42,
  "checksum": {
    "algo": "sha256",
    "tar_zst": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
  }
})";
  const std::string text = sidecar_text(sidecar);
  EXPECT_EQ(without_final_newline(text), expected);
  EXPECT_FALSE(contains(text, "notes"));
}

TEST(SnapshotSidecar, TarDigestAndExcludesRoundTrip) {
  Sidecar sidecar = sample_sidecar();
  sidecar.tar_sha256 = std::string(64, 'a');
  sidecar.excludes = {"cache", "**/*.log"};
  const std::string text = sidecar_text(sidecar);
  EXPECT_TRUE(contains(text, "\"tar_sha256\": \"" + std::string(64, 'a') + "\""));
  Sidecar back = parse_sidecar(text, "x.json");
  EXPECT_EQ(back.tar_sha256, sidecar.tar_sha256);
  EXPECT_EQ(back.excludes, sidecar.excludes);
  // Older sidecars have neither field.
  Sidecar old = parse_sidecar(sidecar_text(sample_sidecar()), "old.json");
  EXPECT_FALSE(old.tar_sha256.has_value());
  EXPECT_TRUE(old.excludes.empty());
  auto bad = [&](const std::string& from, const std::string& to) {
    std::string broken = text;
    broken.replace(broken.find(from), from.size(), to);
    EXPECT_THROW(parse_sidecar(broken, "bad.json"), dockform::Error) << to;
  };
  bad("\"tar_sha256\": \"" + std::string(64, 'a'), "\"tar_sha256\": \"xyz");
  bad("\"excludes\": [", "\"excludes\": [1, ");
}

TEST(SnapshotSidecar, JsonObjectFieldOrder) {
  const auto json = sidecar_to_json(sample_sidecar());
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"dockform_version", "created_at", "volume_name", "spec_hash", "driver",
                                            "driver_opts", "labels", "uncompressed_bytes", "file_count", "checksum",
                                            "notes"}));
  EXPECT_TRUE(json["driver_opts"].is_object());
  EXPECT_TRUE(json["uncompressed_bytes"].is_number_unsigned());
}

void expect_same_sidecar(const Sidecar& a, const Sidecar& b) {
  EXPECT_EQ(a.dockform_version, b.dockform_version);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.volume_name, b.volume_name);
  EXPECT_EQ(a.spec_hash, b.spec_hash);
  EXPECT_EQ(a.driver, b.driver);
  EXPECT_EQ(a.driver_opts, b.driver_opts);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.uncompressed_bytes, b.uncompressed_bytes);
  EXPECT_EQ(a.file_count, b.file_count);
  EXPECT_EQ(a.checksum_algo, b.checksum_algo);
  EXPECT_EQ(a.checksum, b.checksum);
  EXPECT_EQ(a.notes, b.notes);
}

TEST(SnapshotSidecar, ParseRoundTrip) {
  Sidecar original = sample_sidecar();
  original.driver_opts = {{"type", "none"}, {"o", "bind"}, {"device", "/srv/data"}};
  original.labels["Z-upper"] = "v";
  original.uncompressed_bytes = 0xffffffffffffull;  // beyond 32 bits
  expect_same_sidecar(parse_sidecar(sidecar_text(original), "test.json"), original);

  original.notes.reset();
  original.labels.clear();
  original.driver_opts.clear();
  Sidecar parsed = parse_sidecar(sidecar_text(original), "test.json");
  expect_same_sidecar(parsed, original);
  EXPECT_FALSE(parsed.notes.has_value());
}

TEST(SnapshotSidecar, ParsesASidecarWithEveryField) {
  // The layout dockform 0.5.x writes, with a real checksum.
  const std::string text = R"({"dockform_version":"0.5.1","created_at":"2023-10-04T15:30:45Z",
    "volume_name":"myapp_data","spec_hash":"a1b2c3d4","driver":"local","driver_opts":{},
    "labels":{"io.dockform.identifier":"myproject"},"uncompressed_bytes":1048576,"file_count":42,
    "checksum":{"algo":"sha256","tar_zst":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    "notes":"Before major upgrade to v2.0"})";
  Sidecar sidecar = parse_sidecar(text, "x.json");
  EXPECT_EQ(sidecar.volume_name, "myapp_data");
  EXPECT_EQ(sidecar.labels.at("io.dockform.identifier"), "myproject");
  EXPECT_EQ(sidecar.uncompressed_bytes, 1048576u);
  EXPECT_EQ(sidecar.file_count, 42u);
  EXPECT_EQ(sidecar.checksum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sidecar.notes, std::optional<std::string>("Before major upgrade to v2.0"));
}

TEST(SnapshotSidecar, MalformedInputsThrowNamingTheSource) {
  const std::string good = sidecar_text(sample_sidecar());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not JSON", "this is not json"},
      {"truncated JSON", good.substr(0, good.size() / 2)},
      {"empty", ""},
      {"array", "[1, 2, 3]"},
      {"string", "\"sidecar\""},
      {"null", "null"},
      {"missing checksum", replaced(R"("checksum": {)", R"("checksum_gone": {)")},
      {"checksum not an object", replaced(R"("checksum": {)", R"("checksum": "x", "y": {)")},
      {"missing tar_zst", replaced(R"("tar_zst")", R"("tar_zstd")")},
      {"uppercase hex", replaced(hex, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")},
      {"short hex", replaced(hex, hex.substr(0, 63))},
      {"long hex", replaced(hex, hex + "0")},
      {"non-hex", replaced(hex, "zz" + hex.substr(2))},
      {"wrong algo", replaced(R"("algo": "sha256")", R"("algo": "md5")")},
      {"negative uncompressed_bytes", replaced("1048576", "-1")},
      {"negative file_count", replaced("42", "-42")},
      {"fractional file_count", replaced("42", "4.5")},
      {"string file_count", replaced("42", "\"42\"")},
      {"boolean uncompressed_bytes", replaced("1048576", "true")},
      {"numeric volume_name", replaced(R"("myapp_data")", "17")},
      {"labels an array", replaced(R"("labels": {)", R"("labels": ["x"], "l": {)")},
      {"label value a number", replaced(R"("myproject")", "5")},
      {"driver_opts a string", replaced(R"("driver_opts": {})", R"("driver_opts": "none")")},
      {"numeric created_at", replaced(R"("2023-10-04T15:30:45Z")", "1696433445")},
      {"numeric notes", replaced(R"("Before major upgrade to v2.0")", "3")},
  };
  for (const auto& [what, text] : cases) {
    const std::string& input = text;  // clang 14 cannot capture a structured binding
    std::string message = message_of([&] { parse_sidecar(input, "/snapshots/vol/SOURCE-NAME.json"); });
    EXPECT_TRUE(contains(message, "SOURCE-NAME.json")) << what << ": " << message;
  }
}

TEST(SnapshotSidecar, ReadSidecarFromFile) {
  TempDir dir;
  write_plain(dir.path() / "a.json", sidecar_text(sample_sidecar()));
  expect_same_sidecar(read_sidecar(dir.path() / "a.json"), sample_sidecar());
  write_plain(dir.path() / "bad.json", "{");
  std::string message = message_of([&] { read_sidecar(dir.path() / "bad.json"); });
  EXPECT_TRUE(contains(message, "bad.json")) << message;
  message = message_of([&] { read_sidecar(dir.path() / "missing.json"); });
  EXPECT_TRUE(contains(message, "missing.json")) << message;
}

// ---------------------------------------------------------------------------
// Naming

TEST(SnapshotNaming, Timestamps) {
  const std::time_t t = 1696433445;
  EXPECT_EQ(file_timestamp(t), "2023-10-04T15-30-45Z");
  EXPECT_EQ(iso_timestamp(t), "2023-10-04T15:30:45Z");
  EXPECT_EQ(file_timestamp(0), "1970-01-01T00-00-00Z");
  EXPECT_EQ(iso_timestamp(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(snapshot_stem(t, "5df65d76"), "2023-10-04T15-30-45Z__spec-5df65d76");
}

TEST(SnapshotNaming, ParseRoundTrips) {
  EXPECT_EQ(parse_file_timestamp("2023-10-04T15-30-45Z"), std::optional<std::time_t>(1696433445));
  EXPECT_EQ(parse_iso_timestamp("2023-10-04T15:30:45Z"), std::optional<std::time_t>(1696433445));
  for (std::time_t t : {std::time_t{0}, std::time_t{951782400}, std::time_t{1696433445}, std::time_t{1709251199},
                        std::time_t{2147483647}, std::time_t{4102444800}}) {
    EXPECT_EQ(parse_file_timestamp(file_timestamp(t)), std::optional<std::time_t>(t)) << t;
    EXPECT_EQ(parse_iso_timestamp(iso_timestamp(t)), std::optional<std::time_t>(t)) << t;
  }
}

TEST(SnapshotNaming, InvalidTimestampsRejected) {
  for (const char* text :
       {"", "garbage", "2023-10-04", "2023-10-04T15-30-45", "2023-10-04T15-30-45Zx",
        "2023-10-04T15-30-45Z__spec-5df65d76", "2023-10-04 15-30-45Z", "2023-13-04T15-30-45Z", "2023-00-04T15-30-45Z",
        "2023-10-32T15-30-45Z", "2023-10-00T15-30-45Z", "2023-10-04T24-00-00Z", "2023-10-04T15-60-00Z",
        "2023-10-04T15:30:45Z", "2023-10-04T15-30:45Z", "2023-10-04T15-30-45z"}) {
    EXPECT_FALSE(parse_file_timestamp(text).has_value()) << text;
  }
  for (const char* text : {"", "2023-10-04T15-30-45Z", "2023-10-04T15:30:45", "2023-10-04T15:30:45+00:00",
                           "2023-10-04T25:30:45Z", "2023-10-04t15:30:45Z", "2023/10/04T15:30:45Z"}) {
    EXPECT_FALSE(parse_iso_timestamp(text).has_value()) << text;
  }
}

// parse_file_timestamp / parse_iso_timestamp accept only the canonical
// spelling of a time: a sscanf-style %d parse would take signs, leading
// blanks and fewer digits, and a range check alone would normalise impossible
// dates, so "2023-10-04T15--1-45Z" would become 14:59:45 and
// "2023-02-31T00-00-00Z" 3 March instead of being refused.
TEST(SnapshotNaming, NonCanonicalTimestampsRejected) {
  for (const char* text : {"2023-10-04T15--1-45Z", "2023-10-04T-1-30-45Z", "2023-10-04T15-30--1Z", "2023-1-4T15-30-45Z",
                           " 2023-10-04T15-30-45Z", "+2023-10-04T15-30-45Z", "2023-10-04T1-2-3Z",
                           "2023-02-31T00-00-00Z", "2023-02-29T00-00-00Z"}) {
    EXPECT_FALSE(parse_file_timestamp(text).has_value()) << text;
  }
  EXPECT_FALSE(parse_iso_timestamp("2023-10-04T15:-1:45Z").has_value());
  EXPECT_FALSE(parse_iso_timestamp("2023-04-31T00:00:00Z").has_value());
}

TEST(SnapshotNaming, SidecarNames) {
  EXPECT_EQ(sidecar_for("X.tar.zst"), fs::path("X.json"));
  EXPECT_EQ(sidecar_for("X.tar"), fs::path("X.json"));
  EXPECT_EQ(legacy_sidecar_for("X.tar.zst"), fs::path("X.tar.json"));
  EXPECT_EQ(sidecar_for("/snap/vol/2023-10-04T15-30-45Z__spec-5df65d76.tar.zst"),
            fs::path("/snap/vol/2023-10-04T15-30-45Z__spec-5df65d76.json"));
  EXPECT_EQ(legacy_sidecar_for("/snap/vol/2023-10-04T15-30-45Z__spec-5df65d76.tar.zst"),
            fs::path("/snap/vol/2023-10-04T15-30-45Z__spec-5df65d76.tar.json"));
  EXPECT_EQ(sidecar_for("dir.tar.zst/X.tar.zst"), fs::path("dir.tar.zst/X.json"));
}

TEST(SnapshotNaming, VolumeFolder) {
  EXPECT_EQ(volume_folder("/base/.dockform/snapshots", "myapp_data"), fs::path("/base/.dockform/snapshots/myapp_data"));
}

// ---------------------------------------------------------------------------
// Snapshot files: detect_format, find_sidecar, SnapshotReader

std::string zstd_stream_of(const std::string& input, int level = 3) {
  std::string out;
  util::ZstdCompressor compressor(level, 0, [&out](const char* data, std::size_t size) { out.append(data, size); });
  for (std::size_t pos = 0; pos < input.size(); pos += 65536) {
    auto part = std::string_view(input).substr(pos, 65536);
    compressor.write(part.data(), part.size());
  }
  compressor.finish();
  return out;
}

std::string zstd_single_shot(const std::string& input) {
  std::string frame(ZSTD_compressBound(input.size()), '\0');
  std::size_t n = ZSTD_compress(frame.data(), frame.size(), input.data(), input.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  frame.resize(n);
  return frame;
}

struct ReadBack {
  std::string tar;
  std::string checksum;
  std::uint64_t bytes_read = 0;
  std::uint64_t tar_bytes = 0;
  std::uint64_t last_progress = 0;
};

ReadBack read_snapshot(const fs::path& file, SnapshotFormat format) {
  ReadBack out;
  SnapshotReader reader(file, format, [&out](std::uint64_t read) { out.last_progress = read; });
  for (auto block = reader.next_block(); !block.empty(); block = reader.next_block()) out.tar.append(block);
  out.checksum = reader.checksum();
  out.bytes_read = reader.bytes_read();
  out.tar_bytes = reader.tar_bytes();
  return out;
}

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Member> members = sample_members();
    members.push_back({"./large.bin", Type::file, random_bytes(3u << 20, 99), ""});
    tar_ = make_tar(members);
  }
  TempDir dir_;
  std::string tar_;
};

TEST_F(SnapshotFileTest, DetectFormat) {
  const fs::path zst = dir_.path() / "2023-10-04T15-30-45Z__spec-5df65d76.tar.zst";
  write_plain(zst, zstd_stream_of(tar_));
  EXPECT_EQ(detect_format(zst), SnapshotFormat::tar_zst);

  const fs::path plain = dir_.path() / "old.tar";
  write_plain(plain, tar_);
  EXPECT_EQ(detect_format(plain), SnapshotFormat::tar);
}

TEST_F(SnapshotFileTest, DetectFormatRefusesMismatches) {
  // .tar.zst holding a plain tar.
  const fs::path fake_zst = dir_.path() / "fake.tar.zst";
  write_plain(fake_zst, tar_);
  EXPECT_TRUE(contains(message_of([&] { detect_format(fake_zst); }), "fake.tar.zst"));
  // .tar holding zstd data, and .tar holding too few bytes for a header.
  const fs::path fake_tar = dir_.path() / "fake.tar";
  write_plain(fake_tar, zstd_stream_of(tar_));
  EXPECT_TRUE(contains(message_of([&] { detect_format(fake_tar); }), "fake.tar"));
  const fs::path short_tar = dir_.path() / "short.tar";
  write_plain(short_tar, tar_.substr(0, 300));
  message_of([&] { detect_format(short_tar); });
  // Empty files.
  const fs::path empty_zst = dir_.path() / "empty.tar.zst";
  write_plain(empty_zst, "");
  message_of([&] { detect_format(empty_zst); });
  // Wrong or missing extensions, whatever the content.
  for (const char* name : {"snap.zst", "snap.tar.gz", "snap.json", "snap", "snap.TAR", "snap.tar.zst.part"}) {
    const fs::path file = dir_.path() / name;
    write_plain(file, zstd_stream_of(tar_));
    EXPECT_TRUE(contains(message_of([&] { detect_format(file); }), name)) << name;
  }
  // A file that does not exist.
  message_of([&] { detect_format(dir_.path() / "missing.tar.zst"); });
}

TEST_F(SnapshotFileTest, FindSidecar) {
  const fs::path data = dir_.path() / "X.tar.zst";
  write_plain(data, zstd_stream_of(tar_));
  EXPECT_FALSE(find_sidecar(data).has_value());

  write_plain(dir_.path() / "X.tar.json", "{}");
  ASSERT_TRUE(find_sidecar(data).has_value());
  EXPECT_EQ(*find_sidecar(data), dir_.path() / "X.tar.json");

  write_plain(dir_.path() / "X.json", "{}");
  ASSERT_TRUE(find_sidecar(data).has_value());
  EXPECT_EQ(*find_sidecar(data), dir_.path() / "X.json");

  fs::remove(dir_.path() / "X.tar.json");
  EXPECT_EQ(*find_sidecar(data), dir_.path() / "X.json");

  // A plain .tar pairs with Y.json too.
  const fs::path plain = dir_.path() / "Y.tar";
  write_plain(plain, tar_);
  EXPECT_FALSE(find_sidecar(plain).has_value());
  write_plain(dir_.path() / "Y.json", "{}");
  EXPECT_EQ(find_sidecar(plain), std::optional<fs::path>(dir_.path() / "Y.json"));
}

TEST_F(SnapshotFileTest, ReaderOnTarZst) {
  const std::string compressed = zstd_stream_of(tar_, 3);
  const fs::path file = dir_.path() / "snap.tar.zst";
  write_plain(file, compressed);
  const auto got = read_snapshot(file, SnapshotFormat::tar_zst);
  EXPECT_EQ(got.tar.size(), tar_.size());
  EXPECT_TRUE(got.tar == tar_);
  EXPECT_EQ(got.checksum, util::sha256_hex(compressed));
  EXPECT_EQ(got.checksum, util::sha256_hex(read_all(file)));
  EXPECT_EQ(got.bytes_read, compressed.size());
  EXPECT_EQ(got.tar_bytes, tar_.size());
  EXPECT_EQ(got.last_progress, compressed.size());
}

TEST_F(SnapshotFileTest, ReaderOnPlainTar) {
  const fs::path file = dir_.path() / "snap.tar";
  write_plain(file, tar_);
  const auto got = read_snapshot(file, SnapshotFormat::tar);
  EXPECT_TRUE(got.tar == tar_);
  EXPECT_EQ(got.checksum, util::sha256_hex(tar_));
  EXPECT_EQ(got.bytes_read, tar_.size());
  EXPECT_EQ(got.tar_bytes, tar_.size());
}

TEST_F(SnapshotFileTest, ReaderFeedsTheTarWalker) {
  const fs::path file = dir_.path() / "snap.tar.zst";
  write_plain(file, zstd_stream_of(tar_));
  SnapshotReader reader(file, SnapshotFormat::tar_zst);
  TarWalker walker([&reader] { return reader.next_block(); });
  std::size_t members = 0;
  std::size_t files = 0;
  while (auto entry = walker.next()) {
    ++members;
    if (entry->counts_as_file()) ++files;
  }
  EXPECT_EQ(members, sample_members().size() + 1);
  EXPECT_EQ(files, 8u);
}

TEST_F(SnapshotFileTest, ReaderOnDamagedTarZstThrows) {
  const std::string compressed = zstd_stream_of(tar_);
  const fs::path truncated = dir_.path() / "truncated.tar.zst";
  write_plain(truncated, compressed.substr(0, compressed.size() / 2));
  EXPECT_THROW(read_snapshot(truncated, SnapshotFormat::tar_zst), Error);

  std::string flipped = compressed;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x04);
  const fs::path damaged = dir_.path() / "damaged.tar.zst";
  write_plain(damaged, flipped);
  EXPECT_THROW(read_snapshot(damaged, SnapshotFormat::tar_zst), Error);
}

TEST_F(SnapshotFileTest, ReaderOnMissingFileThrows) {
  EXPECT_THROW(SnapshotReader(dir_.path() / "nope.tar.zst", SnapshotFormat::tar_zst), Error);
}

TEST_F(SnapshotFileTest, UncompressedSizeHint) {
  const fs::path plain = dir_.path() / "p.tar";
  write_plain(plain, tar_);
  EXPECT_EQ(uncompressed_size_hint(plain, SnapshotFormat::tar), std::optional<std::uint64_t>(tar_.size()));

  const fs::path single = dir_.path() / "s.tar.zst";
  write_plain(single, zstd_single_shot(tar_));
  EXPECT_EQ(uncompressed_size_hint(single, SnapshotFormat::tar_zst), std::optional<std::uint64_t>(tar_.size()));
  // A single-shot frame reads back like any other.
  EXPECT_TRUE(read_snapshot(single, SnapshotFormat::tar_zst).tar == tar_);
}

}  // namespace
}  // namespace dockform
