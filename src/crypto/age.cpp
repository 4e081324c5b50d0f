#include "dockform/crypto/age.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <utility>

#include "dockform/crypto/age_header.hpp"
#include "dockform/crypto/age_stream.hpp"
#include "dockform/crypto/bech32.hpp"

namespace dockform::crypto::age {
namespace {

constexpr std::string_view recipient_hrp = "age";
constexpr std::string_view identity_hrp = "age-secret-key-";
constexpr std::string_view x25519_label = "age-encryption.org/v1/X25519";
constexpr std::string_view scrypt_label = "age-encryption.org/v1/scrypt";
constexpr std::string_view armor_begin = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr int min_scrypt_log_n = 1;
constexpr int max_encrypt_scrypt_log_n = 30;

const unsigned char zero_nonce[12] = {};

const unsigned char* bytes(const std::string& text) { return reinterpret_cast<const unsigned char*>(text.data()); }

[[noreturn]] void bad_header(const std::string& why) { throw AgeError(ErrorKind::header, why); }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// Calls `each(line, number)` for every line that is not blank or a comment.
template <typename Each>
void for_each_key_line(std::string_view text, Each each) {
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    each(line, number);
  }
}

// Public keys may be quoted in full, shortened when long.
std::string quote_key(std::string_view key) {
  if (key.size() > 90) return "\"" + std::string(key.substr(0, 80)) + "...\"";
  return "\"" + std::string(key) + "\"";
}

// --- stanzas -------------------------------------------------------------------

Stanza wrap_x25519(const X25519Recipient& recipient, const FileKey& file_key) {
  Secret<32> ephemeral;
  random_bytes(ephemeral.data(), ephemeral.size());
  const Bytes32 share = x25519_public(ephemeral.data());
  Secret<32> shared;
  if (!x25519(ephemeral.data(), recipient.public_key.data(), shared.data())) {
    throw Error("age: the recipient " + encode_recipient(recipient) + " is not a usable X25519 key (low order)",
                Exit::usage);
  }
  unsigned char salt[64];
  std::copy(share.begin(), share.end(), salt);
  std::copy(recipient.public_key.begin(), recipient.public_key.end(), salt + 32);
  Secret<32> wrap_key;
  hkdf_sha256(shared.data(), shared.size(), salt, sizeof salt, x25519_label, wrap_key.data());
  std::string body(file_key_size + ChaChaPoly::tag_size, '\0');
  ChaChaPoly(wrap_key.data())
      .seal(zero_nonce, file_key.data(), file_key.size(), reinterpret_cast<unsigned char*>(body.data()));
  return Stanza{{"X25519", base64_encode(share.data(), share.size())}, std::move(body)};
}

Stanza wrap_scrypt(const ScryptRecipient& recipient, const FileKey& file_key) {
  if (recipient.log_n < min_scrypt_log_n || recipient.log_n > max_encrypt_scrypt_log_n) {
    throw Error("age: scrypt work factor " + std::to_string(recipient.log_n) + " out of range (1 to 30)", Exit::usage);
  }
  unsigned char salt[16];
  random_bytes(salt, sizeof salt);
  std::string labelled(scrypt_label);
  labelled.append(reinterpret_cast<const char*>(salt), sizeof salt);
  Secret<32> wrap_key;
  scrypt(recipient.passphrase, bytes(labelled), labelled.size(), recipient.log_n, 8, 1, wrap_key.data());
  std::string body(file_key_size + ChaChaPoly::tag_size, '\0');
  ChaChaPoly(wrap_key.data())
      .seal(zero_nonce, file_key.data(), file_key.size(), reinterpret_cast<unsigned char*>(body.data()));
  return Stanza{{"scrypt", base64_encode(salt, sizeof salt), std::to_string(recipient.log_n)}, std::move(body)};
}

// Opens a 32-byte stanza body into the file key; false for a wrong key.
bool open_file_key(const Secret<32>& wrap_key, const std::string& body, FileKey& file_key) {
  return ChaChaPoly(wrap_key.data()).open(zero_nonce, bytes(body), body.size(), file_key.data());
}

// An identity and what it needs again for every stanza.
struct Unwrapper {
  const X25519Identity* x25519 = nullptr;
  Bytes32 x25519_public{};
  const PassphraseIdentity* passphrase = nullptr;
};

// The file key when `stanza` is addressed to `identity`; nullopt for a stanza
// of another type or for another key. A malformed stanza of the identity's
// own type is a header error, as age requires.
std::optional<FileKey> unwrap_x25519(const Unwrapper& identity, const Stanza& stanza) {
  if (stanza.args[0] != "X25519") return std::nullopt;
  if (stanza.args.size() != 2) bad_header("an X25519 stanza must have exactly one argument after its type");
  const std::optional<std::string> share = base64_decode(stanza.args[1]);
  if (!share || share->size() != 32) bad_header("an X25519 stanza's share is not 32 bytes of canonical base64");
  if (stanza.body.size() != file_key_size + ChaChaPoly::tag_size) {
    bad_header("an X25519 stanza's body is not 32 bytes");
  }
  Secret<32> shared;
  if (!x25519(identity.x25519->secret.data(), bytes(*share), shared.data())) {
    bad_header("an X25519 stanza's share is a low-order point");
  }
  unsigned char salt[64];
  std::copy(share->begin(), share->end(), salt);
  std::copy(identity.x25519_public.begin(), identity.x25519_public.end(), salt + 32);
  Secret<32> wrap_key;
  hkdf_sha256(shared.data(), shared.size(), salt, sizeof salt, x25519_label, wrap_key.data());
  FileKey file_key;
  if (!open_file_key(wrap_key, stanza.body, file_key)) return std::nullopt;
  return file_key;
}

std::optional<FileKey> unwrap_scrypt(const Unwrapper& identity, const Stanza& stanza, int max_log_n) {
  if (stanza.args[0] != "scrypt") return std::nullopt;
  if (stanza.args.size() != 3) bad_header("an scrypt stanza must have exactly two arguments after its type");
  const std::optional<std::string> salt = base64_decode(stanza.args[1]);
  if (!salt || salt->size() != 16) bad_header("an scrypt stanza's salt is not 16 bytes of canonical base64");
  const std::string& factor = stanza.args[2];
  // ^[1-9][0-9]*$, read without overflow.
  if (factor.empty() || factor[0] < '1' || factor[0] > '9' ||
      !std::all_of(factor.begin(), factor.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    bad_header("an scrypt stanza's work factor is not a decimal number without leading zeros");
  }
  if (factor.size() > 2 || std::stoi(factor) > max_log_n) {
    bad_header("the file's scrypt work factor 2^" + factor.substr(0, 20) + " is above the limit 2^" +
               std::to_string(max_log_n) +
               " (DecryptOptions::max_scrypt_log_n); raise it only for a file from a trusted source");
  }
  const int log_n = std::stoi(factor);
  if (stanza.body.size() != file_key_size + ChaChaPoly::tag_size) bad_header("an scrypt stanza's body is not 32 bytes");
  std::string labelled(scrypt_label);
  labelled += *salt;
  Secret<32> wrap_key;
  scrypt(identity.passphrase->passphrase, bytes(labelled), labelled.size(), log_n, 8, 1, wrap_key.data());
  FileKey file_key;
  if (!open_file_key(wrap_key, stanza.body, file_key)) return std::nullopt;
  return file_key;
}

// Every identity against every stanza, in order; the first key wins.
FileKey unwrap(const std::vector<Unwrapper>& identities, const std::vector<Stanza>& stanzas,
               const DecryptOptions& options) {
  bool has_scrypt = false;
  std::set<std::string> types;
  for (const Stanza& stanza : stanzas) {
    has_scrypt = has_scrypt || stanza.args[0] == "scrypt";
    types.insert(stanza.args[0].substr(0, 40));
  }
  if (has_scrypt && stanzas.size() != 1) {
    bad_header("an scrypt (passphrase) stanza is not alone in the header, as age v1 requires");
  }
  bool has_passphrase = false;
  for (const Unwrapper& identity : identities) {
    has_passphrase = has_passphrase || identity.passphrase != nullptr;
    for (const Stanza& stanza : stanzas) {
      std::optional<FileKey> key = identity.x25519 != nullptr
                                       ? unwrap_x25519(identity, stanza)
                                       : unwrap_scrypt(identity, stanza, options.max_scrypt_log_n);
      if (key) return *key;
    }
  }
  if (has_scrypt && !has_passphrase) {
    throw AgeError(ErrorKind::no_match, "this file is encrypted with a passphrase: give the passphrase");
  }
  if (has_scrypt) throw AgeError(ErrorKind::no_match, "the passphrase is wrong for this file");
  if (identities.empty()) {
    throw AgeError(ErrorKind::no_match,
                   "no identity was given: use the identity file (AGE-SECRET-KEY-1...) or "
                   "the passphrase the file was encrypted to");
  }
  std::string listed;
  for (const std::string& type : types) listed += (listed.empty() ? "" : ", ") + type;
  throw AgeError(ErrorKind::no_match,
                 "no identity matches this file's recipients (stanza types: " + listed +
                     "); use the identity file (AGE-SECRET-KEY-1...) or the passphrase it was encrypted to");
}

}  // namespace

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::header: return "header";
    case ErrorKind::hmac: return "hmac";
    case ErrorKind::payload: return "payload";
    case ErrorKind::no_match: return "no_match";
    case ErrorKind::unsupported: return "unsupported";
  }
  return "?";
}

// --- keys --------------------------------------------------------------------

X25519Identity generate_x25519_identity() {
  X25519Identity identity;
  random_bytes(identity.secret.data(), identity.secret.size());
  return identity;
}

X25519Recipient x25519_recipient_of(const X25519Identity& identity) {
  return X25519Recipient{x25519_public(identity.secret.data())};
}

std::string encode_recipient(const X25519Recipient& recipient) {
  return bech32::encode(recipient_hrp, {recipient.public_key.begin(), recipient.public_key.end()});
}

std::string encode_identity(const X25519Identity& identity) {
  std::vector<unsigned char> secret(identity.secret.data(), identity.secret.data() + identity.secret.size());
  std::string out = bech32::encode(identity_hrp, secret, true);
  cleanse(secret.data(), secret.size());
  return out;
}

Recipient parse_recipient(std::string_view text) {
  const std::string_view key = trim(text);
  std::string why;
  std::optional<bech32::Decoded> decoded = bech32::decode(key, &why);
  if (key.starts_with("ssh-")) {
    throw Error("age: " + quote_key(key) + " is an ssh key: ssh recipients are not supported, use an age1... key",
                Exit::usage);
  }
  if (!decoded) {
    throw Error(
        "age: " + quote_key(key) + " is not an age recipient (" + why + "); expected age1... as age-keygen -y prints",
        Exit::usage);
  }
  if (decoded->hrp != recipient_hrp) {
    throw Error("age: " + quote_key(key) + " is an \"" + decoded->hrp +
                    "1...\" key: only X25519 recipients (age1...) are supported",
                Exit::usage);
  }
  if (decoded->data.size() != 32) {
    throw Error("age: " + quote_key(key) + " is not an X25519 recipient (" + std::to_string(decoded->data.size()) +
                    " bytes, expected 32)",
                Exit::usage);
  }
  X25519Recipient recipient;
  std::copy(decoded->data.begin(), decoded->data.end(), recipient.public_key.begin());
  return recipient;
}

std::vector<Recipient> parse_recipients_file(std::string_view text) {
  std::vector<Recipient> out;
  for_each_key_line(text, [&out](std::string_view line, std::size_t number) {
    try {
      out.push_back(parse_recipient(line));
    } catch (const Error& error) {
      throw Error("recipients file line " + std::to_string(number) + ": " + error.what(), Exit::usage);
    }
  });
  if (out.empty()) throw Error("age: the recipients file holds no recipient (age1... lines)", Exit::usage);
  return out;
}

X25519Identity parse_identity(std::string_view text) {
  const std::string_view key = trim(text);
  if (key.starts_with("AGE-SECRET-KEY-PQ-1") || key.starts_with("age-secret-key-pq-1")) {
    throw AgeError(ErrorKind::unsupported, "post-quantum (mlkem768x25519) identities are not supported", Exit::usage);
  }
  std::string why;
  std::optional<bech32::Decoded> decoded = bech32::decode(key, &why);
  if (!decoded) throw Error("age: not an age identity (" + why + "); expected AGE-SECRET-KEY-1...", Exit::usage);
  X25519Identity identity;
  const bool ok = decoded->hrp == identity_hrp && decoded->data.size() == identity.secret.size();
  if (ok) std::copy(decoded->data.begin(), decoded->data.end(), identity.secret.data());
  cleanse(decoded->data.data(), decoded->data.size());
  if (!ok) {
    throw Error(
        "age: not an X25519 identity (prefix \"" + decoded->hrp.substr(0, 30) + "1\"); expected AGE-SECRET-KEY-1...",
        Exit::usage);
  }
  return identity;
}

std::vector<X25519Identity> parse_identity_file(std::string_view text) {
  std::vector<X25519Identity> out;
  for_each_key_line(text, [&out](std::string_view line, std::size_t number) {
    try {
      out.push_back(parse_identity(line));
    } catch (const Error& error) {
      throw Error("identity file line " + std::to_string(number) + ": " + error.what(), Exit::usage);
    }
  });
  if (out.empty()) throw Error("age: the identity file holds no AGE-SECRET-KEY-1... line", Exit::usage);
  return out;
}

// --- Encryptor ---------------------------------------------------------------

struct Encryptor::State {
  std::optional<PayloadEncryptor> payload;
};

Encryptor::Encryptor(const std::vector<Recipient>& recipients, Sink sink) : state_(std::make_unique<State>()) {
  if (recipients.empty()) throw Error("age: no recipients to encrypt to", Exit::usage);
  const bool has_scrypt = std::any_of(recipients.begin(), recipients.end(),
                                      [](const Recipient& r) { return std::holds_alternative<ScryptRecipient>(r); });
  if (has_scrypt && recipients.size() != 1) {
    throw Error("age: a passphrase cannot be combined with other recipients (age v1 requires it alone)", Exit::usage);
  }
  FileKey file_key;
  random_bytes(file_key.data(), file_key.size());
  std::vector<Stanza> stanzas;
  for (const Recipient& recipient : recipients) {
    if (const auto* x = std::get_if<X25519Recipient>(&recipient)) {
      stanzas.push_back(wrap_x25519(*x, file_key));
    } else {
      stanzas.push_back(wrap_scrypt(std::get<ScryptRecipient>(recipient), file_key));
    }
  }
  std::string header = encode_header_without_mac(stanzas);
  Secret<32> mac_key;
  hkdf_sha256(file_key.data(), file_key.size(), nullptr, 0, "header", mac_key.data());
  header += encode_mac_line(hmac_sha256(mac_key.data(), header.data(), header.size()));
  unsigned char nonce[payload_nonce_size];
  random_bytes(nonce, sizeof nonce);
  header.append(reinterpret_cast<const char*>(nonce), sizeof nonce);
  sink(header.data(), header.size());
  state_->payload.emplace(file_key, nonce, std::move(sink));
}

Encryptor::~Encryptor() = default;

void Encryptor::write(const char* data, std::size_t size) { state_->payload->write(data, size); }

void Encryptor::finish() { state_->payload->finish(); }

// --- Decryptor ---------------------------------------------------------------

struct Decryptor::State {
  enum class Phase { header, nonce, payload, done, failed };

  std::vector<Identity> identities;
  Sink sink;
  DecryptOptions options;
  Phase phase = Phase::header;
  HeaderParser parser;
  std::string line;  // the header line being read
  std::size_t header_size = 0;
  FileKey file_key;  // from the header until the nonce is read
  std::string nonce;
  Secret<32> payload_key;  // once the nonce was read
  std::optional<PayloadDecryptor> payload;

  void feed_header(const char*& data, std::size_t& size);
  void header_complete();
};

void Decryptor::State::feed_header(const char*& data, std::size_t& size) {
  while (size > 0 && phase == Phase::header) {
    const char* newline = static_cast<const char*>(std::memchr(data, '\n', size));
    const std::size_t take = newline != nullptr ? static_cast<std::size_t>(newline - data) + 1 : size;
    header_size += take;
    if (header_size > options.max_header_size) {
      bad_header("the header is larger than " + std::to_string(options.max_header_size) +
                 " bytes (DecryptOptions::max_header_size): not an age file, or too many recipients");
    }
    line.append(data, newline != nullptr ? take - 1 : take);
    data += take;
    size -= take;
    if (newline == nullptr) {
      // Refuse what cannot become a version line as soon as it shows.
      if (header_size == line.size()) {
        constexpr std::string_view magic = "age-encryption.org/";
        const std::size_t n = std::min(line.size(), magic.size());
        const std::size_t a = std::min(line.size(), armor_begin.size());
        if (line.compare(0, n, magic.substr(0, n)) != 0 && line.compare(0, a, armor_begin.substr(0, a)) != 0) {
          bad_header("the file does not start with \"age-encryption.org/v1\": not an age file");
        }
      }
      return;
    }
    if (header_size == line.size() + 1 && trim(line) == armor_begin) {
      throw AgeError(ErrorKind::unsupported,
                     "the file is ASCII-armored (-----BEGIN AGE ENCRYPTED FILE-----), which is not supported: "
                     "decode it with age -d first, or encrypt without --armor");
    }
    parser.line(line);
    line.clear();
    if (parser.done()) header_complete();
  }
}

void Decryptor::State::header_complete() {
  std::vector<Unwrapper> unwrappers;
  unwrappers.reserve(identities.size());
  for (const Identity& identity : identities) {
    Unwrapper u;
    if (const auto* x = std::get_if<X25519Identity>(&identity)) {
      u.x25519 = x;
      u.x25519_public = x25519_public(x->secret.data());
    } else {
      u.passphrase = &std::get<PassphraseIdentity>(identity);
    }
    unwrappers.push_back(u);
  }
  file_key = unwrap(unwrappers, parser.stanzas(), options);
  Secret<32> mac_key;
  hkdf_sha256(file_key.data(), file_key.size(), nullptr, 0, "header", mac_key.data());
  const Bytes32 mac = hmac_sha256(mac_key.data(), parser.covered().data(), parser.covered().size());
  if (CRYPTO_memcmp(mac.data(), parser.mac().data(), mac.size()) != 0) {
    throw AgeError(ErrorKind::hmac, "the header's MAC does not match: the header was modified or is corrupt");
  }
  parser = HeaderParser();  // the stanzas are no longer needed
  phase = Phase::nonce;
}

Decryptor::Decryptor(std::vector<Identity> identities, Sink sink, DecryptOptions options)
    : state_(std::make_unique<State>()) {
  state_->identities = std::move(identities);
  state_->sink = std::move(sink);
  state_->options = options;
}

Decryptor::~Decryptor() = default;

bool Decryptor::header_done() const {
  return state_->phase != State::Phase::header && state_->phase != State::Phase::failed;
}

std::uint64_t Decryptor::payload_offset() const {
  return state_->payload ? state_->header_size + payload_nonce_size : 0;
}

Secret<32> Decryptor::payload_key() const { return state_->payload_key; }

void Decryptor::feed(const char* data, std::size_t size) {
  State& s = *state_;
  if (s.phase == State::Phase::failed) throw AgeError(ErrorKind::payload, "the file already failed to decrypt");
  if (s.phase == State::Phase::done) throw AgeError(ErrorKind::payload, "data after the end of the file");
  try {
    if (s.phase == State::Phase::header) s.feed_header(data, size);
    if (s.phase == State::Phase::nonce && size > 0) {
      const std::size_t take = std::min(size, payload_nonce_size - s.nonce.size());
      s.nonce.append(data, take);
      data += take;
      size -= take;
      if (s.nonce.size() == payload_nonce_size) {
        s.payload.emplace(s.file_key, bytes(s.nonce), s.sink);
        s.payload_key = age::payload_key(s.file_key, bytes(s.nonce));
        s.file_key = FileKey();
        s.phase = State::Phase::payload;
      }
    }
    if (s.phase == State::Phase::payload && size > 0) s.payload->feed(data, size);
  } catch (...) {
    s.phase = State::Phase::failed;
    throw;
  }
}

void Decryptor::finish() {
  State& s = *state_;
  if (s.phase == State::Phase::done) return;
  if (s.phase == State::Phase::failed) throw AgeError(ErrorKind::payload, "the file already failed to decrypt");
  try {
    switch (s.phase) {
      case State::Phase::header:
        bad_header(s.header_size == 0 ? "the file is empty" : "the file ends inside its header: it is truncated");
      case State::Phase::nonce:
        // age counts the payload nonce with the header.
        bad_header("the file ends before its payload nonce: it is truncated");
      case State::Phase::payload: s.payload->finish(); break;
      case State::Phase::done:
      case State::Phase::failed: break;
    }
    s.phase = State::Phase::done;
  } catch (...) {
    s.phase = State::Phase::failed;
    throw;
  }
}

std::string encrypt_all(std::string_view plaintext, const std::vector<Recipient>& recipients) {
  std::string out;
  out.reserve(plaintext.size() + plaintext.size() / chunk_size * ChaChaPoly::tag_size + 512);
  Encryptor encryptor(recipients, [&out](const char* data, std::size_t size) { out.append(data, size); });
  encryptor.write(plaintext);
  encryptor.finish();
  return out;
}

std::string decrypt_all(std::string_view file, std::vector<Identity> identities, DecryptOptions options) {
  std::string out;
  Decryptor decryptor(
      std::move(identities), [&out](const char* data, std::size_t size) { out.append(data, size); }, options);
  decryptor.feed(file);
  decryptor.finish();
  return out;
}

}  // namespace dockform::crypto::age
