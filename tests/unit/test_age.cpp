// crypto::age: the C2SP testkit vectors, keys and their encodings, round trips,
// tampering, interop with the age command-line tools, throughput.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/archive/age_file.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/crypto/age_header.hpp"
#include "dockform/crypto/bech32.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"
#include "test_support.hpp"

namespace dockform::crypto::age {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::TempDir;

// --- the testkit -------------------------------------------------------------

struct Vector {
  std::string name;
  std::string expect;
  std::string payload_sha256;
  std::vector<std::string> identities;
  std::vector<std::string> passphrases;
  bool armored = false;
  std::string compressed;
  std::string file;
};

Vector read_vector(const fs::path& path) {
  Vector v;
  v.name = path.filename().string();
  const std::string text = test::read_all(path);
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) throw std::runtime_error(v.name + ": no blank line after the vector's header");
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) break;
    const std::size_t colon = line.find(": ");
    if (colon == std::string::npos) throw std::runtime_error(v.name + ": bad header line " + line);
    const std::string key = line.substr(0, colon);
    const std::string value = line.substr(colon + 2);
    if (key == "expect") v.expect = value;
    if (key == "payload") v.payload_sha256 = value;
    if (key == "identity") v.identities.push_back(value);
    if (key == "passphrase") v.passphrases.push_back(value);
    if (key == "armored") v.armored = value == "yes";
    if (key == "compressed") v.compressed = value;
  }
  // Without a payload line nothing may be released: the hash of no bytes.
  if (v.payload_sha256.empty()) v.payload_sha256 = util::sha256_hex("");
  v.file = text.substr(pos);
  return v;
}

// Some vectors are stored zlib-compressed (their "compressed: zlib" line).
std::string inflate_zlib(const std::string& in) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw std::runtime_error("inflateInit");
  std::string out;
  std::string buffer(1 << 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw std::runtime_error("inflate failed");
    }
    out.append(buffer.data(), buffer.size() - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

struct Outcome {
  std::optional<ErrorKind> error;  // nullopt: decrypted to the end
  std::string message;
  std::string plaintext_sha256;  // of everything the sink received
};

// Feeds the file whole (piece == 0) or in pieces of 1, 2, ... piece bytes.
Outcome decrypt_vector(const std::string& file, const std::vector<Identity>& identities, std::size_t piece) {
  util::Sha256 hash;
  Outcome outcome;
  try {
    Decryptor decryptor(identities, [&hash](const char* data, std::size_t size) { hash.update(data, size); });
    if (piece == 0) {
      decryptor.feed(file);
    } else {
      std::size_t at = 0;
      std::size_t n = 1;
      while (at < file.size()) {
        const std::size_t take = std::min(n, file.size() - at);
        decryptor.feed(file.data() + at, take);
        at += take;
        n = n % piece + 1;
      }
    }
    decryptor.finish();
  } catch (const AgeError& error) {
    outcome.error = error.kind();
    outcome.message = error.what();
  }
  outcome.plaintext_sha256 = hash.hex_digest();
  return outcome;
}

std::optional<ErrorKind> expected_kind(const std::string& expect) {
  if (expect == "success") return std::nullopt;
  if (expect == "header failure") return ErrorKind::header;
  if (expect == "HMAC failure") return ErrorKind::hmac;
  if (expect == "payload failure") return ErrorKind::payload;
  if (expect == "no match") return ErrorKind::no_match;
  throw std::runtime_error("unknown expectation " + expect);
}

TEST(AgeTestkit, EveryVector) {
  const fs::path folder = fs::path(DOCKFORM_TEST_DATA_DIR) / "age-testkit";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name == "LICENSE" || name == "README.md" || name == "SOURCE.md") continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 143u) << "the vendored testkit changed";

  std::size_t passed = 0;
  std::map<std::string, std::size_t> skipped;
  std::map<std::string, std::size_t> by_expectation;
  for (const fs::path& path : files) {
    const Vector v = read_vector(path);
    SCOPED_TRACE(v.name);
    // Named features this implementation does not have.
    if (v.armored || v.expect == "armor failure") {
      ++skipped["ASCII armor not implemented"];
      continue;
    }
    bool post_quantum = false;
    for (const std::string& identity : v.identities) post_quantum |= identity.starts_with("AGE-SECRET-KEY-PQ-");
    if (post_quantum) {
      ++skipped["mlkem768x25519 post-quantum hybrid recipients not implemented"];
      continue;
    }
    ASSERT_TRUE(v.compressed.empty() || v.compressed == "zlib");
    const std::string file = v.compressed.empty() ? v.file : inflate_zlib(v.file);
    std::vector<Identity> identities;
    for (const std::string& identity : v.identities) identities.emplace_back(parse_identity(identity));
    for (const std::string& passphrase : v.passphrases) identities.emplace_back(PassphraseIdentity{passphrase});

    const std::optional<ErrorKind> expected = expected_kind(v.expect);
    bool ok = true;
    // Whole, and in small uneven pieces: the outcome must not depend on how
    // the bytes arrive.
    for (std::size_t piece : {std::size_t{0}, std::size_t{7}, std::size_t{4099}}) {
      const Outcome outcome = decrypt_vector(file, identities, piece);
      if (outcome.error != expected) {
        ADD_FAILURE() << v.name << " (pieces " << piece << "): expected " << v.expect << ", got "
                      << (outcome.error ? to_string(*outcome.error) : "success") << ": " << outcome.message;
        ok = false;
      } else if (outcome.plaintext_sha256 != v.payload_sha256) {
        ADD_FAILURE() << v.name << " (pieces " << piece << "): the released plaintext's SHA-256 "
                      << outcome.plaintext_sha256 << " is not the payload's " << v.payload_sha256;
        ok = false;
      }
    }
    if (ok) {
      ++passed;
      ++by_expectation[v.expect];
    }
  }
  std::cout << "[ age     ] testkit: " << passed << " passed (";
  const char* separator = "";
  for (const auto& [expect, count] : by_expectation) {
    std::cout << separator << count << " " << expect;
    separator = ", ";
  }
  std::cout << ")";
  for (const auto& [reason, count] : skipped) std::cout << "; " << count << " skipped: " << reason;
  std::cout << "\n";
  EXPECT_EQ(passed + skipped["ASCII armor not implemented"] +
                skipped["mlkem768x25519 post-quantum hybrid recipients not implemented"],
            files.size());
}

// The same vectors read at random (archive::AgeFile, which seekable
// snapshots use): a success reads back its payload, a failure is an AgeError
// of the same kind by the time the last chunk was read.
TEST(AgeTestkit, RandomAccessAgrees) {
  const fs::path folder = fs::path(DOCKFORM_TEST_DATA_DIR) / "age-testkit";
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name == "LICENSE" || name == "README.md" || name == "SOURCE.md") continue;
    const Vector v = read_vector(entry.path());
    SCOPED_TRACE(v.name);
    bool post_quantum = false;
    for (const std::string& identity : v.identities) post_quantum |= identity.starts_with("AGE-SECRET-KEY-PQ-");
    if (v.armored || v.expect == "armor failure" || post_quantum) continue;
    const std::string file = v.compressed.empty() ? v.file : inflate_zlib(v.file);
    std::vector<Identity> identities;
    for (const std::string& identity : v.identities) identities.emplace_back(parse_identity(identity));
    for (const std::string& passphrase : v.passphrases) identities.emplace_back(PassphraseIdentity{passphrase});
    std::optional<ErrorKind> error;
    std::string plain;
    try {
      archive::AgeFile seekable(std::make_unique<archive::MemoryFile>(file), identities);
      // The last chunk first, as a seekable snapshot's tail is read.
      if (seekable.size() > 0) seekable.read(seekable.size() - 1, 1);
      plain = seekable.read(0, seekable.size());
    } catch (const AgeError& e) {
      error = e.kind();
    }
    EXPECT_EQ(error, expected_kind(v.expect)) << v.expect;
    if (!error) {
      EXPECT_EQ(util::sha256_hex(plain), v.payload_sha256);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 92u) << "the vendored testkit changed";
}

// --- keys --------------------------------------------------------------------

// The example key pair of the age specification.
constexpr std::string_view spec_identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
constexpr std::string_view spec_recipient = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

TEST(AgeKeys, SpecExampleKeyPair) {
  const X25519Identity identity = parse_identity(spec_identity);
  EXPECT_EQ(encode_identity(identity), spec_identity);
  EXPECT_EQ(encode_recipient(x25519_recipient_of(identity)), spec_recipient);
  const Recipient recipient = parse_recipient(spec_recipient);
  EXPECT_EQ(std::get<X25519Recipient>(recipient).public_key, x25519_recipient_of(identity).public_key);
}

TEST(AgeKeys, GeneratedKeysRoundTrip) {
  const X25519Identity identity = generate_x25519_identity();
  const std::string text = encode_identity(identity);
  EXPECT_TRUE(text.starts_with("AGE-SECRET-KEY-1"));
  EXPECT_EQ(encode_identity(parse_identity(text)), text);
  const std::string recipient = encode_recipient(x25519_recipient_of(identity));
  EXPECT_TRUE(recipient.starts_with("age1"));
  EXPECT_EQ(recipient.size(), 62u);
}

TEST(AgeKeys, Bech32RejectsMixedCaseAndBadChecksums) {
  std::string why;
  EXPECT_TRUE(bech32::decode(spec_recipient, &why));
  std::string upper(spec_recipient);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(bech32::decode(upper, &why));  // all upper case is valid bech32
  std::string mixed(spec_recipient);
  mixed[5] = 'V';
  EXPECT_FALSE(bech32::decode(mixed, &why));
  EXPECT_NE(why.find("mixed"), std::string::npos);
  std::string flipped(spec_recipient);
  flipped[10] = flipped[10] == 'q' ? 'p' : 'q';
  EXPECT_FALSE(bech32::decode(flipped, &why));
  EXPECT_NE(why.find("checksum"), std::string::npos);
}

TEST(AgeKeys, BadRecipientsNameTheKey) {
  expect_error([] { parse_recipient("age1notakey"); }, Exit::usage, "age1notakey");
  expect_error([] { parse_recipient("ssh-ed25519 AAAAC3Nza me@host"); }, Exit::usage, "ssh key");
  std::string flipped(spec_recipient);
  flipped[10] = flipped[10] == 'q' ? 'p' : 'q';
  expect_error([&] { parse_recipient(flipped); }, Exit::usage, flipped);
  expect_error([] { parse_recipients_file("# only a comment\n\n"); }, Exit::usage, "no recipient");
  expect_error([] { parse_recipients_file(std::string(spec_recipient) + "\nage1bad\n"); }, Exit::usage, "line 2");
}

TEST(AgeKeys, RecipientsFile) {
  const X25519Identity other = generate_x25519_identity();
  const std::string text = "# backups\n" + std::string(spec_recipient) + "\n\n  # the laptop\n" +
                           encode_recipient(x25519_recipient_of(other)) + "\r\n";
  const std::vector<Recipient> recipients = parse_recipients_file(text);
  ASSERT_EQ(recipients.size(), 2u);
  EXPECT_EQ(encode_recipient(std::get<X25519Recipient>(recipients[0])), spec_recipient);
}

TEST(AgeKeys, IdentityFileAsAgeKeygenWritesIt) {
  const std::string text = "# created: 2024-01-01T00:00:00Z\n# public key: " + std::string(spec_recipient) + "\n" +
                           std::string(spec_identity) + "\n";
  const std::vector<X25519Identity> identities = parse_identity_file(text);
  ASSERT_EQ(identities.size(), 1u);
  EXPECT_EQ(encode_recipient(x25519_recipient_of(identities[0])), spec_recipient);
}

TEST(AgeKeys, IdentityErrorsDoNotRepeatTheSecret) {
  std::string damaged(spec_identity);
  damaged[30] = damaged[30] == 'Q' ? 'P' : 'Q';
  const Error error = test::thrown_by([&] { parse_identity_file("# mine\n" + damaged + "\n"); });
  EXPECT_EQ(error.code(), Exit::usage);
  const std::string message = error.what();
  EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  EXPECT_EQ(message.find(damaged.substr(16, 20)), std::string::npos) << message;
  expect_error([] { parse_identity_file("\n# nothing\n"); }, Exit::usage, "no AGE-SECRET-KEY-1");
  expect_error([] { parse_identity("AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM"); }, Exit::usage,
               "post-quantum");
}

// --- round trips ---------------------------------------------------------------

std::size_t expected_size(std::size_t header, std::size_t plaintext) {
  const std::size_t chunks = plaintext == 0 ? 1 : (plaintext + chunk_size - 1) / chunk_size;
  return header + 16 + plaintext + 16 * chunks;
}

TEST(AgeRoundTrip, ChunkBoundaries) {
  const X25519Identity identity = generate_x25519_identity();
  const std::vector<Recipient> recipients{x25519_recipient_of(identity)};
  const std::string empty_file = encrypt_all("", recipients);
  const std::size_t header = empty_file.size() - 16 - 16;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, chunk_size - 1, chunk_size, chunk_size + 1, 2 * chunk_size,
                           3 * chunk_size + 17}) {
    SCOPED_TRACE(size);
    const std::string plaintext = test::random_bytes(size, static_cast<std::uint32_t>(size));
    // Written in uneven pieces.
    std::string file;
    Encryptor encryptor(recipients, [&file](const char* data, std::size_t n) { file.append(data, n); });
    for (std::size_t at = 0, n = 1; at < size; at += n, n = n * 3 + 1) {
      encryptor.write(plaintext.data() + at, std::min(n, size - at));
    }
    encryptor.finish();
    EXPECT_EQ(file.size(), expected_size(header, size));
    EXPECT_EQ(decrypt_all(file, {identity}), plaintext);
  }
}

TEST(AgeRoundTrip, SeveralRecipientsEachDecrypt) {
  const X25519Identity a = generate_x25519_identity();
  const X25519Identity b = generate_x25519_identity();
  const std::string file = encrypt_all("two readers", {x25519_recipient_of(a), x25519_recipient_of(b)});
  EXPECT_EQ(decrypt_all(file, {b}), "two readers");
  EXPECT_EQ(decrypt_all(file, {generate_x25519_identity(), a}), "two readers");
}

TEST(AgeRoundTrip, PassphraseWithLowWorkFactor) {
  const std::string file = encrypt_all("secret", {ScryptRecipient{"correct horse", 10}});
  EXPECT_NE(file.find("-> scrypt "), std::string::npos);
  EXPECT_NE(file.find(" 10\n"), std::string::npos);
  EXPECT_EQ(decrypt_all(file, {PassphraseIdentity{"correct horse"}}), "secret");
  try {
    decrypt_all(file, {PassphraseIdentity{"wrong"}});
    ADD_FAILURE() << "no error";
  } catch (const AgeError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::no_match);
  }
  try {
    decrypt_all(file, {generate_x25519_identity()});
    ADD_FAILURE() << "no error";
  } catch (const AgeError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::no_match);
    EXPECT_NE(std::string(error.what()).find("give the passphrase"), std::string::npos) << error.what();
  }
  // A work factor above the decryptor's limit is refused before any work.
  DecryptOptions options;
  options.max_scrypt_log_n = 9;
  try {
    decrypt_all(file, {PassphraseIdentity{"correct horse"}}, options);
    ADD_FAILURE() << "no error";
  } catch (const AgeError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::header);
    EXPECT_NE(std::string(error.what()).find("above the limit 2^9"), std::string::npos) << error.what();
  }
}

TEST(AgeRoundTrip, PassphraseDefaultWorkFactorIs18) {
  ScryptRecipient recipient;
  recipient.passphrase = "pw";
  EXPECT_EQ(recipient.log_n, 18);
  const std::string file = encrypt_all("x", {recipient});
  EXPECT_NE(file.find(" 18\n"), std::string::npos);
  EXPECT_EQ(decrypt_all(file, {PassphraseIdentity{"pw"}}), "x");
}

TEST(AgeRoundTrip, PassphraseMustBeAlone) {
  expect_error(
      [] {
        Encryptor({ScryptRecipient{"pw", 10}, x25519_recipient_of(generate_x25519_identity())}, [](auto, auto) {});
      },
      Exit::usage, "passphrase");
  expect_error([] { Encryptor({}, [](auto, auto) {}); }, Exit::usage, "no recipients");
}

TEST(AgeRoundTrip, PlaintextIsReleasedChunkByChunk) {
  const X25519Identity identity = generate_x25519_identity();
  const std::string plaintext = test::random_bytes(3 * chunk_size + 5, 7);
  const std::string file = encrypt_all(plaintext, {x25519_recipient_of(identity)});
  std::size_t released = 0;
  Decryptor decryptor({identity}, [&released](const char*, std::size_t n) { released += n; });
  // The header, the nonce and two and a bit sealed chunks: two are known not
  // to be last and come out before the end of the file is seen.
  const std::size_t header = file.size() - 16 - (plaintext.size() + 4 * 16);
  decryptor.feed(file.data(), header + 16 + 2 * (chunk_size + 16) + 1);
  EXPECT_TRUE(decryptor.header_done());
  EXPECT_EQ(released, 2 * chunk_size);
  decryptor.feed(file.data() + header + 16 + 2 * (chunk_size + 16) + 1,
                 file.size() - (header + 16 + 2 * (chunk_size + 16) + 1));
  EXPECT_EQ(released, 3 * chunk_size);  // the last full chunk might still be final
  decryptor.finish();
  EXPECT_EQ(released, plaintext.size());
}

// --- tampering ---------------------------------------------------------------

ErrorKind failure_of(const std::string& file, const Identity& identity) {
  try {
    decrypt_all(file, {identity});
  } catch (const AgeError& error) {
    return error.kind();
  }
  ADD_FAILURE() << "decrypted";
  return ErrorKind::unsupported;
}

TEST(AgeTamper, EachDamageHasItsKind) {
  const X25519Identity identity = generate_x25519_identity();
  const std::string file = encrypt_all(test::random_bytes(100000, 3), {x25519_recipient_of(identity)});
  std::string flipped = file;
  flipped[file.size() - 40] ^= 1;
  EXPECT_EQ(failure_of(flipped, identity), ErrorKind::payload);
  EXPECT_EQ(failure_of(file.substr(0, file.size() - 1), identity), ErrorKind::payload);
  EXPECT_EQ(failure_of(file + "x", identity), ErrorKind::payload);
  // A full chunk cut off at a chunk boundary: no final chunk.
  const std::size_t mac_end = file.find("\n", file.find("\n---")) + 1;
  EXPECT_EQ(failure_of(file.substr(0, mac_end + 16 + chunk_size + 16), identity), ErrorKind::payload);
  EXPECT_EQ(failure_of(file.substr(0, mac_end + 5), identity), ErrorKind::header);
  // An extra stanza of an unknown type: parses, unwraps, but the MAC fails.
  std::string grease = file;
  grease.insert(file.find("\n---") + 1, "-> grease x\n\n");
  EXPECT_EQ(failure_of(grease, identity), ErrorKind::hmac);
  EXPECT_EQ(failure_of(file, generate_x25519_identity()), ErrorKind::no_match);
  EXPECT_EQ(failure_of("hello, world\n", identity), ErrorKind::header);
  EXPECT_EQ(failure_of("", identity), ErrorKind::header);
  EXPECT_EQ(failure_of("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n", identity),
            ErrorKind::unsupported);
}

TEST(AgeTamper, GarbageIsRefusedBeforeTheHeaderLimit) {
  Decryptor decryptor({generate_x25519_identity()}, [](const char*, std::size_t) {});
  const std::string garbage(100, 'z');
  try {
    decryptor.feed(garbage);
    ADD_FAILURE() << "no error";
  } catch (const AgeError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::header);
    EXPECT_NE(std::string(error.what()).find("not an age file"), std::string::npos);
  }
  // And stays failed.
  EXPECT_THROW(decryptor.feed("age"), AgeError);
}

TEST(AgeHeader, CanonicalBase64) {
  EXPECT_EQ(base64_decode("Zg").value(), "f");
  EXPECT_FALSE(base64_decode("Zh"));  // non-zero trailing bits
  EXPECT_FALSE(base64_decode("Zg=="));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_EQ(base64_decode("").value(), "");
  const std::string bytes = test::random_bytes(100, 1);
  EXPECT_EQ(base64_decode(base64_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())), bytes);
}

// --- interop with the age tools ------------------------------------------------

bool have_age_tools() {
  return std::system("command -v age >/dev/null 2>&1 && command -v age-keygen >/dev/null 2>&1") == 0;
}

int run(const std::string& command) { return std::system((command + " 2>&1").c_str()); }

TEST(AgeInterop, AgeEncryptsWeDecrypt) {
  if (!have_age_tools()) GTEST_SKIP() << "age/age-keygen not installed";
  TempDir dir;
  ASSERT_EQ(run("age-keygen -o '" + (dir.path() / "key.txt").string() + "' >/dev/null"), 0);
  const std::vector<X25519Identity> identities = parse_identity_file(test::read_all(dir.path() / "key.txt"));
  ASSERT_EQ(identities.size(), 1u);
  const std::string recipient = encode_recipient(x25519_recipient_of(identities[0]));
  for (std::size_t size : {std::size_t{0}, std::size_t{1000}, 2 * chunk_size, 5 * chunk_size + 123}) {
    SCOPED_TRACE(size);
    const std::string plaintext = test::random_bytes(size, 11);
    const fs::path in = dir.write("plain", plaintext);
    const fs::path out = dir.path() / "file.age";
    fs::remove(out);
    ASSERT_EQ(run("age -r " + recipient + " -o '" + out.string() + "' '" + in.string() + "'"), 0);
    EXPECT_EQ(decrypt_all(test::read_all(out), {identities[0]}), plaintext);
  }
}

TEST(AgeInterop, WeEncryptAgeDecrypts) {
  if (!have_age_tools()) GTEST_SKIP() << "age/age-keygen not installed";
  TempDir dir;
  const X25519Identity identity = generate_x25519_identity();
  const X25519Identity other = generate_x25519_identity();
  dir.write("key.txt", "# ours\n" + encode_identity(identity) + "\n");
  for (std::size_t size : {std::size_t{0}, std::size_t{1000}, 2 * chunk_size, 5 * chunk_size + 123}) {
    SCOPED_TRACE(size);
    const std::string plaintext = test::random_bytes(size, 13);
    dir.write("file.age", encrypt_all(plaintext, {x25519_recipient_of(other), x25519_recipient_of(identity)}));
    const fs::path out = dir.path() / "plain";
    fs::remove(out);
    ASSERT_EQ(run("age -d -i '" + (dir.path() / "key.txt").string() + "' -o '" + out.string() + "' '" +
                  (dir.path() / "file.age").string() + "'"),
              0);
    EXPECT_EQ(test::read_all(out), plaintext);
  }
  // age-keygen -y derives the same recipient from our identity.
  ASSERT_EQ(run("age-keygen -y '" + (dir.path() / "key.txt").string() + "' > '" + (dir.path() / "pub").string() + "'"),
            0);
  EXPECT_EQ(test::read_all(dir.path() / "pub"), encode_recipient(x25519_recipient_of(identity)) + "\n");
}

// --- throughput (printed, not asserted) --------------------------------------

TEST(AgeBench, EncryptDecrypt64MiB) {
  const X25519Identity identity = generate_x25519_identity();
  const std::size_t total = 64u << 20;
  const std::string block = test::random_bytes(1 << 20, 5);
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point from) {
    return std::chrono::duration<double>(Clock::now() - from).count();
  };

  // Encryption alone, into a sink that drops the bytes.
  std::size_t sealed = 0;
  auto t = Clock::now();
  {
    Encryptor encryptor({x25519_recipient_of(identity)}, [&sealed](const char*, std::size_t n) { sealed += n; });
    for (std::size_t at = 0; at < total; at += block.size()) encryptor.write(block);
    encryptor.finish();
  }
  const double encrypt = seconds(t);

  // Decryption alone, of a file already in memory (its pages touched).
  std::string file;
  {
    Encryptor encryptor({x25519_recipient_of(identity)}, [&file](const char* d, std::size_t n) { file.append(d, n); });
    for (std::size_t at = 0; at < total; at += block.size()) encryptor.write(block);
    encryptor.finish();
  }
  std::size_t released = 0;
  t = Clock::now();
  {
    Decryptor decryptor({identity}, [&released](const char*, std::size_t n) { released += n; });
    for (std::size_t at = 0; at < file.size(); at += block.size()) {
      decryptor.feed(file.data() + at, std::min(block.size(), file.size() - at));
    }
    decryptor.finish();
  }
  const double decrypt = seconds(t);
  EXPECT_EQ(released, total);

  // Both at once: the encryptor's output is fed straight to the decryptor.
  released = 0;
  t = Clock::now();
  {
    Decryptor decryptor({identity}, [&released](const char*, std::size_t n) { released += n; });
    Encryptor encryptor({x25519_recipient_of(identity)},
                        [&decryptor](const char* d, std::size_t n) { decryptor.feed(d, n); });
    for (std::size_t at = 0; at < total; at += block.size()) encryptor.write(block);
    encryptor.finish();
    decryptor.finish();
  }
  const double both = seconds(t);
  EXPECT_EQ(released, total);
  EXPECT_GT(sealed, total);
  const double mib = static_cast<double>(total) / (1 << 20);
  std::printf("[ age     ] 64 MiB on one core: encrypt %.0f MiB/s, decrypt %.0f MiB/s, encrypt+decrypt %.0f MiB/s\n",
              mib / encrypt, mib / decrypt, mib / both);
}

}  // namespace
}  // namespace dockform::crypto::age
