// Encrypted snapshots: the sidecar's encryption block, reading a .tar.zst.age
// (checksums of both layers, header checks, damage), where keys come from,
// and the manifest's snapshots block.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dockform/archive/sidecar.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/core/keys.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/manifest/manifest.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/zstd_stream.hpp"
#include "test_support.hpp"

namespace dockform {
namespace {

namespace age = crypto::age;
using archive::SnapshotFormat;
using test::TempDir;

archive::Sidecar encrypted_sidecar() {
  archive::Sidecar sidecar;
  sidecar.volume_name = "data";
  sidecar.checksum = std::string(64, 'a');
  sidecar.encryption.emplace();
  sidecar.encryption->recipients = {"age1example"};
  sidecar.encryption->stored_sha256 = std::string(64, 'b');
  return sidecar;
}

TEST(EncryptedSidecar, RoundTripsRecipientsAndStoredChecksum) {
  auto text = archive::sidecar_text(encrypted_sidecar());
  EXPECT_NE(text.find("\"tar_zst_age\": \"" + std::string(64, 'b') + "\""), std::string::npos) << text;
  auto back = archive::parse_sidecar(text, "x.json");
  ASSERT_TRUE(back.encryption.has_value());
  EXPECT_EQ(back.encryption->format, "age");
  EXPECT_EQ(back.encryption->recipients, std::vector<std::string>{"age1example"});
  EXPECT_FALSE(back.encryption->passphrase);
  EXPECT_EQ(back.encryption->stored_sha256, std::string(64, 'b'));
  EXPECT_EQ(back.checksum, std::string(64, 'a'));
}

TEST(EncryptedSidecar, PassphraseHasNoRecipientsAndMalformedBlocksAreRefused) {
  auto sidecar = encrypted_sidecar();
  sidecar.encryption->recipients.clear();
  sidecar.encryption->passphrase = true;
  auto text = archive::sidecar_text(sidecar);
  EXPECT_EQ(text.find("recipients"), std::string::npos);
  EXPECT_TRUE(archive::parse_sidecar(text, "p.json").encryption->passphrase);
  auto refused = [&](const std::string& from, const std::string& to) {
    auto broken = text;
    broken.replace(broken.find(from), from.size(), to);
    EXPECT_THROW(archive::parse_sidecar(broken, "bad.json"), Error) << to;
  };
  refused("\"tar_zst_age\"", "\"other\"");                // the stored bytes' checksum is required
  refused("\"format\": \"age\"", "\"format\": \"gpg\"");  // another format
  refused("\"passphrase\": true", "\"passphrase\": 1");
  EXPECT_EQ(archive::sidecar_for("dir/x.tar.zst.age"), std::filesystem::path("dir/x.json"));
}

// A snapshot file: a zstd frame of `tar`, encrypted to `recipients`.
struct EncryptedFile {
  std::string compressed;
  std::string stored;
};

EncryptedFile encrypt_snapshot(const std::string& tar, const std::vector<age::Recipient>& recipients) {
  EncryptedFile out;
  util::ZstdCompressor compressor(3, 0,
                                  [&out](const char* data, std::size_t size) { out.compressed.append(data, size); });
  compressor.write(tar.data(), tar.size());
  compressor.finish();
  out.stored = age::encrypt_all(out.compressed, recipients);
  return out;
}

class EncryptedReader : public ::testing::Test {
 protected:
  age::X25519Identity identity = age::generate_x25519_identity();
  age::X25519Identity stranger = age::generate_x25519_identity();
  std::string tar = test::random_bytes(300 * 1024, 7);
  TempDir dir;

  std::filesystem::path write(const std::string& stored) { return dir.write("s.tar.zst.age", stored); }
};

TEST_F(EncryptedReader, DecryptsInTheStreamWithBothChecksums) {
  auto file = encrypt_snapshot(tar, {age::x25519_recipient_of(identity)});
  auto path = write(file.stored);
  EXPECT_EQ(archive::detect_format(path), SnapshotFormat::tar_zst_age);
  auto source = archive::open_local_file(path);
  EXPECT_NO_THROW(archive::check_age_header(*source, {identity}));
  EXPECT_NO_THROW(archive::check_age_header(*source, {}));  // the syntax only
  auto reader = archive::open_reader(*source, SnapshotFormat::tar_zst_age, {identity});
  std::string back;
  for (auto block = reader->next_block(); !block.empty(); block = reader->next_block()) back.append(block);
  EXPECT_EQ(back, tar);
  EXPECT_TRUE(reader->encrypted());
  EXPECT_EQ(reader->checksum(), util::sha256_hex(file.compressed));
  EXPECT_EQ(reader->stored_checksum(), util::sha256_hex(file.stored));
  EXPECT_EQ(reader->bytes_read(), file.stored.size());
}

TEST_F(EncryptedReader, HeaderChecksNameTheFailure) {
  auto file = encrypt_snapshot(tar, {age::x25519_recipient_of(identity)});
  auto source = archive::open_local_file(write(file.stored));
  try {
    archive::check_age_header(*source, {stranger});
    FAIL() << "a key that does not match was accepted";
  } catch (const age::AgeError& e) {
    EXPECT_EQ(e.kind(), age::ErrorKind::no_match);
    EXPECT_EQ(e.code(), Exit::refused);
  }
  auto damaged = file.stored;
  damaged[damaged.find("\n---") - 3] ^= 1;  // inside the last stanza's body
  auto damaged_source = archive::open_local_file(write(damaged));
  EXPECT_THROW(archive::check_age_header(*damaged_source, {identity}), age::AgeError);
  // Without a key a plain zstd file under the .age name is no age file.
  EXPECT_THROW(archive::detect_format(write(file.compressed)), Error);
}

TEST_F(EncryptedReader, CutAndChangedPayloadsFailTheRead) {
  auto file = encrypt_snapshot(tar, {age::x25519_recipient_of(identity)});
  auto read_all_of = [&](const std::string& stored) {
    auto source = archive::open_local_file(write(stored));
    auto reader = archive::open_reader(*source, SnapshotFormat::tar_zst_age, {identity});
    while (!reader->next_block().empty()) {
    }
  };
  EXPECT_NO_THROW(read_all_of(file.stored));
  EXPECT_THROW(read_all_of(file.stored.substr(0, file.stored.size() - 10)), age::AgeError);
  auto changed = file.stored;
  changed[changed.size() / 2] ^= 0x40;
  EXPECT_THROW(read_all_of(changed), age::AgeError);
}

TEST_F(EncryptedReader, StoredChecksumOfComparesTheRightLayer) {
  auto file = encrypt_snapshot(tar, {age::x25519_recipient_of(identity)});
  auto source = archive::open_local_file(write(file.stored));
  auto reader = archive::open_reader(*source, SnapshotFormat::tar_zst_age, {identity});
  auto sidecar = encrypted_sidecar();
  EXPECT_EQ(archive::stored_checksum_of(sidecar, *reader), std::string(64, 'b'));
  sidecar.encryption.reset();  // a plain snapshot's sidecar, its file encrypted by age afterwards
  EXPECT_EQ(archive::stored_checksum_of(sidecar, *reader), "");
  EXPECT_EQ(archive::checksum_mismatch(*reader, ""), "");
}

using test::env_of;

class Keys : public ::testing::Test {
 protected:
  TempDir dir;
  std::string one = age::encode_recipient(age::x25519_recipient_of(age::generate_x25519_identity()));
  std::string two = age::encode_recipient(age::x25519_recipient_of(age::generate_x25519_identity()));

  std::string file(const std::string& name, const std::string& text) {
    auto path = dir.write(name, text);
    ::chmod(path.c_str(), 0600);
    return path.string();
  }
};

TEST_F(Keys, FlagsThenEnvironmentThenManifest) {
  manifest::Manifest declared;
  declared.dir = dir.path();
  declared.snapshots.recipients = {one};
  auto from_manifest = core::resolve_recipients({}, &declared, env_of({}));
  EXPECT_EQ(from_manifest.keys.size(), 1u);
  EXPECT_EQ(from_manifest.source, "the manifest's snapshots block");
  auto from_env = core::resolve_recipients({}, &declared, env_of({{"DOCKFORM_RECIPIENTS", one + ", " + two}}));
  EXPECT_EQ(from_env.keys.size(), 2u);
  EXPECT_EQ(from_env.source, "the environment");
  core::RecipientFlags flags;
  flags.recipients = {two};
  auto from_flags = core::resolve_recipients(flags, &declared, env_of({{"DOCKFORM_RECIPIENTS", one}}));
  ASSERT_EQ(from_flags.keys.size(), 1u);
  EXPECT_EQ(age::encode_recipient(std::get<age::X25519Recipient>(from_flags.keys[0])), two);
  EXPECT_TRUE(core::resolve_recipients({}, nullptr, env_of({})).keys.empty());
}

TEST_F(Keys, RecipientsFilesAddUpAndNameTheirErrors) {
  core::RecipientFlags flags;
  flags.recipients = {one};
  flags.recipient_files = {file("keys", "# comment\n" + two + "\n\n")};
  EXPECT_EQ(core::resolve_recipients(flags, nullptr, env_of({})).keys.size(), 2u);
  flags.recipient_files = {file("bad", "age1notakey\n")};
  try {
    core::resolve_recipients(flags, nullptr, env_of({}));
    FAIL() << "a bad recipients file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::usage);
    EXPECT_NE(std::string(e.what()).find("recipients file " + flags.recipient_files[0]), std::string::npos) << e.what();
  }
  flags.recipient_files = {(dir.path() / "missing").string()};
  EXPECT_THROW(core::resolve_recipients(flags, nullptr, env_of({})), Error);
}

TEST_F(Keys, PassphraseGoesAloneAndIsTheFirstLine) {
  core::RecipientFlags flags;
  flags.passphrase_file = file("pass", "two words\r\nignored\n");
  auto alone = core::resolve_recipients(flags, nullptr, env_of({}));
  ASSERT_EQ(alone.keys.size(), 1u);
  EXPECT_EQ(std::get<age::ScryptRecipient>(alone.keys[0]).passphrase, "two words");
  flags.recipients = {one};
  EXPECT_THROW(core::resolve_recipients(flags, nullptr, env_of({})), Error);
  EXPECT_THROW(core::read_passphrase_file(file("empty", "\nsecond line\n")), Error);
}

TEST_F(Keys, IdentitiesFromFlagsElseEnvironment) {
  auto identity = age::generate_x25519_identity();
  auto secret = age::encode_identity(identity);
  auto key_file = file("key.txt", "# created: now\n# public key: x\n" + secret + "\n");
  core::IdentityFlags flags;
  flags.identity_files = {key_file};
  EXPECT_EQ(core::resolve_identities(flags, env_of({})).size(), 1u);
  auto from_env = core::resolve_identities(
      {}, env_of({{"DOCKFORM_IDENTITY_FILE", key_file}, {"DOCKFORM_PASSPHRASE_FILE", file("p", "pass\n")}}));
  ASSERT_EQ(from_env.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<age::PassphraseIdentity>(from_env[1]));
  try {
    flags.identity_files = {file("bad.txt", "AGE-SECRET-KEY-1NOTAKEY\n")};
    core::resolve_identities(flags, env_of({}));
    FAIL() << "a bad identity file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::usage);
    EXPECT_EQ(std::string(e.what()).find("NOTAKEY"), std::string::npos) << "the message repeats the key: " << e.what();
  }
}

TEST(ManifestSnapshots, RecipientsAreCheckedAndSecretsRefused) {
  std::string one = age::encode_recipient(age::x25519_recipient_of(age::generate_x25519_identity()));
  auto parse = [](const std::string& text) {
    return manifest::parse_manifest(text, "dockform.yml", [](const std::string&) { return std::nullopt; });
  };
  auto ok = parse("docker:\n  identifier: x\nsnapshots:\n  recipients: [" + one + "]\n  recipients_file: k.txt\n");
  EXPECT_EQ(ok.snapshots.recipients, std::vector<std::string>{one});
  EXPECT_EQ(ok.snapshots.recipients_file, std::filesystem::path("k.txt"));
  auto message_of = [&](const std::string& text) {
    try {
      parse(text);
    } catch (const manifest::ManifestError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message_of("docker:\n  identifier: x\nsnapshots:\n  recipients: [age1bad]\n").find("dockform.yml:4:"),
            std::string::npos);
  EXPECT_NE(message_of("docker:\n  identifier: x\nsnapshots:\n  passphrase: hunter2\n")
                .find("secrets do not belong in the manifest"),
            std::string::npos);
  EXPECT_NE(message_of("docker:\n  identifier: x\nsnapshots:\n  identity_file: k\n").find("secrets do not belong"),
            std::string::npos);
}

}  // namespace
}  // namespace dockform

namespace dockform {
namespace {

// Not a test: scripts/bench runs it (pinned to one core) for the encryption's
// throughput. Prints "age encrypt MiB/s: N" and "age decrypt MiB/s: N".
TEST(AgeThroughput, DISABLED_OneCore) {
  auto identity = age::generate_x25519_identity();
  const std::string block = test::random_bytes(1 << 20, 3);
  constexpr int kMiB = 512;
  std::string stored;
  auto seconds = [](auto since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  };
  auto started = std::chrono::steady_clock::now();
  {
    // Only the first MiB is kept, to decrypt below without holding 512 MiB.
    age::Encryptor encryptor({age::x25519_recipient_of(identity)}, [&](const char* data, std::size_t size) {
      if (stored.size() < (1u << 20) + 4096) stored.append(data, size);
    });
    for (int i = 0; i < kMiB; ++i) encryptor.write(block);
    encryptor.finish();
  }
  std::printf("age encrypt MiB/s: %.0f\n", kMiB / seconds(started));
  std::string small = age::encrypt_all(block, {age::x25519_recipient_of(identity)});
  started = std::chrono::steady_clock::now();
  for (int i = 0; i < kMiB; ++i) {
    age::Decryptor decryptor({identity}, [](const char*, std::size_t) {});
    decryptor.feed(small);
    decryptor.finish();
  }
  std::printf("age decrypt MiB/s: %.0f\n", kMiB / seconds(started));
}

}  // namespace
}  // namespace dockform
