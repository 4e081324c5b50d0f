#pragma once
// age v1 file encryption (https://age-encryption.org/v1), streaming and in
// bounded memory: one 64 KiB chunk at a time in each direction, the header
// only while it is read.
//
// Implemented: X25519 recipients and identities (age1... and
// AGE-SECRET-KEY-1...), scrypt passphrase recipients and identities.
// Not implemented: the ASCII armor, the post-quantum mlkem768x25519 hybrid
// and the tagged (p256tag) recipient types, ssh-rsa/ssh-ed25519 keys and
// plugins. Stanzas of other types are skipped when decrypting, as the format
// requires; armored input is refused with ErrorKind::unsupported.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dockform/crypto/primitives.hpp"
#include "dockform/util/error.hpp"

namespace dockform::crypto::age {

enum class ErrorKind {
  header,       // the header does not parse (or a stanza addressed to us is malformed)
  hmac,         // the header parsed and a key unwrapped, but the header MAC is wrong
  payload,      // the encrypted payload is corrupt, truncated or followed by garbage
  no_match,     // no identity unwraps any stanza
  unsupported,  // a valid feature this implementation does not have (armor, ...)
};
const char* to_string(ErrorKind kind);

class AgeError : public Error {
 public:
  AgeError(ErrorKind kind, const std::string& message, Exit code = Exit::error)
      : Error("age: " + message, code), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// --- keys --------------------------------------------------------------------

struct X25519Recipient {
  Bytes32 public_key{};
};

// A passphrase recipient: the only recipient of its file. 2^log_n is scrypt's
// work factor (2^18 takes about a second and 256 MiB).
struct ScryptRecipient {
  std::string passphrase;
  int log_n = 18;
  ~ScryptRecipient() { cleanse(passphrase.data(), passphrase.size()); }
};

using Recipient = std::variant<X25519Recipient, ScryptRecipient>;

struct X25519Identity {
  Secret<32> secret;
};

struct PassphraseIdentity {
  std::string passphrase;
  ~PassphraseIdentity() { cleanse(passphrase.data(), passphrase.size()); }
};

using Identity = std::variant<X25519Identity, PassphraseIdentity>;

// A new X25519 identity from the CSPRNG.
X25519Identity generate_x25519_identity();
X25519Recipient x25519_recipient_of(const X25519Identity& identity);

// "age1..." (lower case).
std::string encode_recipient(const X25519Recipient& recipient);
// "AGE-SECRET-KEY-1..." (upper case). The caller owns a secret: wipe it.
std::string encode_identity(const X25519Identity& identity);

// An "age1..." key. Anything else (ssh keys, age1pq1..., a bad checksum)
// throws dockform::Error with Exit::usage and a message naming the key.
Recipient parse_recipient(std::string_view text);
// age's recipients file: one recipient a line; lines starting with '#' and
// blank lines are skipped. Errors name the line. At least one recipient.
std::vector<Recipient> parse_recipients_file(std::string_view text);
// One "AGE-SECRET-KEY-1..." key. Errors (Exit::usage) never repeat the key.
X25519Identity parse_identity(std::string_view text);
// An identity file as age-keygen writes it: AGE-SECRET-KEY-1... lines, '#'
// comments, blank lines. At least one identity.
std::vector<X25519Identity> parse_identity_file(std::string_view text);

// --- streams -----------------------------------------------------------------

using Sink = std::function<void(const char* data, std::size_t size)>;

inline constexpr std::size_t chunk_size = 64 * 1024;

// Encrypts to `recipients` (at least one; a ScryptRecipient only alone),
// writing the header to `sink` at construction, then each 64 KiB chunk once
// it is known not to be the last one, the last one in finish().
class Encryptor {
 public:
  Encryptor(const std::vector<Recipient>& recipients, Sink sink);
  ~Encryptor();
  Encryptor(const Encryptor&) = delete;
  Encryptor& operator=(const Encryptor&) = delete;

  void write(const char* data, std::size_t size);
  void write(std::string_view data) { write(data.data(), data.size()); }
  // Writes the final chunk. No write() afterwards.
  void finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct DecryptOptions {
  // The largest scrypt work factor (log2 N) accepted; 22 needs 4 GiB.
  int max_scrypt_log_n = 22;
  // The largest header accepted, in bytes.
  std::size_t max_header_size = 1024 * 1024;
};

// Decrypts ciphertext fed in pieces of any size: the header is parsed as its
// lines arrive; once it is complete (and its MAC checked) each chunk's
// plaintext goes to `sink` as soon as it is authenticated. finish() checks
// that the file ended with a valid final chunk. Any error is an AgeError;
// after one, the decryptor refuses further input. Plaintext delivered before
// a payload error is authentic but incomplete. Without identities every file
// fails (no_match), after its header was checked.
class Decryptor {
 public:
  Decryptor(std::vector<Identity> identities, Sink sink, DecryptOptions options = {});
  ~Decryptor();
  Decryptor(const Decryptor&) = delete;
  Decryptor& operator=(const Decryptor&) = delete;

  void feed(const char* data, std::size_t size);
  void feed(std::string_view data) { feed(data.data(), data.size()); }
  void finish();
  // True once the header was read and a file key unwrapped.
  bool header_done() const;
  // Once the payload nonce was read: where the payload starts in the file
  // (0 before), and the key its chunks are sealed with (for reads of single
  // chunks; the caller wipes nothing, the Secret does).
  std::uint64_t payload_offset() const;
  Secret<32> payload_key() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Whole-buffer conveniences (tests, small files).
std::string encrypt_all(std::string_view plaintext, const std::vector<Recipient>& recipients);
std::string decrypt_all(std::string_view file, std::vector<Identity> identities, DecryptOptions options = {});

}  // namespace dockform::crypto::age
