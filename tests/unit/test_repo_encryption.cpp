// Encrypted repositories (repo_keys.hpp): what is sealed to whom, frame ids
// under the repository key, a writer that holds only the key, and the
// identity that reads everything back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "dockform/archive/frame_writer.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/repo/repo_keys.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/sha256.hpp"
#include "repo_support.hpp"
#include "test_support.hpp"

namespace dockform::store::encryption_test {
namespace {

namespace age = crypto::age;
namespace fs = std::filesystem;
using test::expect_error;

// A repository sealed to a new identity, and this process set up as its writer.
class EncryptedRepo : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "repo";
    key_file_ = (dir_.path() / "keys" / "writer.key").string();
    auto files = open_repo_files(Location::local(root_));
    init_repository(*files, {{age::x25519_recipient_of(identity_)}, key_file_});
    ::setenv("DOCKFORM_REPO_KEY_FILE", key_file_.c_str(), 1);
    use_repository_identities({});
  }
  void TearDown() override {
    ::unsetenv("DOCKFORM_REPO_KEY_FILE");
    use_repository_identities({});
  }
  void as_reader() { use_repository_identities({identity_}); }

  Location put(const std::string& file, std::time_t start) { return test_repo::put(root_, file, start); }
  static std::string read_all(const Location& ref) { return test_repo::read_all(ref); }
  std::string opened(const fs::path& file) { return age::decrypt_all(test::read_all(file), {identity_}); }

  test::TempDir dir_;
  age::X25519Identity identity_ = age::generate_x25519_identity();
  fs::path root_;
  std::string key_file_;
};

using test_repo::seekable_file;

std::vector<fs::path> files_in(const fs::path& folder) {
  std::vector<fs::path> out;
  for (const auto& item : fs::recursive_directory_iterator(folder)) {
    if (item.is_regular_file()) out.push_back(item.path());
  }
  return out;
}

TEST_F(EncryptedRepo, SealsPacksIndexesAndRecipesAndNamesFramesByAKeyedHash) {
  std::string file = seekable_file(test::random_bytes(3 << 20, 7) + std::string(2 << 20, 'x'));
  auto ref = put(file, 1000);
  std::size_t sealed = 0;
  for (const auto& path : files_in(root_)) {
    std::string name = path.lexically_relative(root_).string();
    bool plain = name == "config" || name == "lock" || (name.ends_with(".json") && name.starts_with("snapshots/"));
    EXPECT_EQ(test::read_all(path).starts_with("age-encryption.org/v1\n"), !plain) << name;
    sealed += !plain;
  }
  EXPECT_GE(sealed, 4u);  // key object, pack, index, recipe
  // The identity opens each with plain age; no frame id is its bytes' SHA-256.
  as_reader();
  for (const auto& index : files_in(root_ / "index")) {
    auto packs = decode_pack_index(opened(index), index.string());
    ASSERT_EQ(packs.size(), 1u);
    std::string pack = opened(root_ / "packs" / (packs[0].pack + ".pack"));
    for (const auto& entry : packs[0].entries) {
      EXPECT_NE(util::sha256_hex(pack.substr(entry.offset, entry.length)), entry.id);
    }
  }
  EXPECT_EQ(read_all(ref), file);
  auto ranges = open_random_access(ref);
  EXPECT_EQ(ranges->read(1000000, 1500000), file.substr(1000000, 1500000));
}

TEST_F(EncryptedRepo, AWriterStoresFramesOnceButReadsNoneBack) {
  std::string file = seekable_file(test::random_bytes(2 << 20, 8));
  auto ref1 = put(file, 1000);
  auto packs = files_in(root_ / "packs").size();
  auto ref2 = put(file, 2000);  // the frames are found by their keyed ids
  EXPECT_EQ(files_in(root_ / "packs").size(), packs);
  EXPECT_EQ(repo_stats(*open_repo_files(Location::local(root_))).snapshots, 2u);
  expect_error([&] { read_all(ref2); }, Exit::usage, "sealed to the repository's recipients");
  as_reader();
  EXPECT_EQ(read_all(ref1), file);
  EXPECT_EQ(read_all(ref2), file);
}

TEST_F(EncryptedRepo, AHostWithoutTheKeyWritesNothing) {
  ::setenv("DOCKFORM_REPO_KEY_FILE", (dir_.path() / "missing.key").c_str(), 1);
  use_repository_identities({});
  expect_error([&] { put(seekable_file("abc"), 1000); }, Exit::usage, "is encrypted and this host has no key");
  EXPECT_TRUE(files_in(root_ / "packs").empty());
  EXPECT_TRUE(files_in(root_ / "snapshots").empty());
  // Another repository's key is named as such.
  auto other = dir_.path() / "other";
  init_repository(*open_repo_files(Location::local(other)),
                  {{age::x25519_recipient_of(identity_)}, (dir_.path() / "other.key").string()});
  ::setenv("DOCKFORM_REPO_KEY_FILE", (dir_.path() / "other.key").c_str(), 1);
  use_repository_identities({});
  expect_error([&] { put(seekable_file("abc"), 1000); }, Exit::usage, "is not the key of repository");
}

TEST_F(EncryptedRepo, ADamagedSealedPackIsAChecksumMismatch) {
  std::string file = seekable_file(test::random_bytes(2 << 20, 9));
  auto ref = put(file, 1000);
  for (const auto& pack : files_in(root_ / "packs")) {
    std::fstream out(pack, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(fs::file_size(pack) / 2));
    out.put('\x55');
  }
  as_reader();
  expect_error([&] { read_all(ref); }, Exit::refused, "checksum mismatch");
}

TEST_F(EncryptedRepo, TheKeyIsRecoveredWithTheIdentity) {
  auto files = open_repo_files(Location::local(root_));
  auto again = (dir_.path() / "again.key").string();
  expect_error([&] { recover_repository_key(*files, again); }, Exit::usage, "sealed to the repository's recipients");
  as_reader();
  EXPECT_EQ(recover_repository_key(*files, again), again);
  auto key_line = [](const std::string& file) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line) && line.starts_with("#")) {
    }
    return line;
  };
  EXPECT_EQ(key_line(again), key_line(key_file_));
  expect_error([&] { recover_repository_key(*files, again); }, Exit::usage, "exists");
}

TEST_F(EncryptedRepo, OnlyTheIdentityRewritesAPartlyUsedPack) {
  std::string shared = test::random_bytes(5 << 20, 10);
  auto ref1 = put(seekable_file(shared + test::random_bytes(3 << 20, 11)), 1000);
  std::string kept = seekable_file(shared + test::random_bytes(1 << 20, 12));
  auto ref2 = put(kept, 2000);  // stores little more than its last MiB
  auto files = open_repo_files(Location::local(root_));
  files->remove(repository_ref(ref1)->recipe());
  files->remove(repository_ref(ref1)->sidecar());
  // The writer cannot read the used frames out of the first snapshot's pack: it stays.
  auto by_writer = collect_unused_frames(*files, false, 0);
  EXPECT_EQ(by_writer.packs_rewritten, 0u);
  as_reader();
  auto by_reader = collect_unused_frames(*open_repo_files(Location::local(root_)), false, 0);
  EXPECT_EQ(by_reader.packs_rewritten, 1u);
  EXPECT_EQ(read_all(ref2), kept);
}

}  // namespace
}  // namespace dockform::store::encryption_test
