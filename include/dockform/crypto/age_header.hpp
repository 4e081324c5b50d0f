#pragma once
// The textual age v1 header (age-encryption.org/v1): stanzas, the header MAC
// line, and the unpadded canonical base64 they are written in. Parsing is
// incremental, one line at a time, so a decryptor can refuse garbage as soon
// as it arrives and never holds more than the header itself.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/crypto/primitives.hpp"

namespace dockform::crypto::age {

// Standard base64 (RFC 4648 section 4) without '=' padding.
std::string base64_encode(const unsigned char* data, std::size_t size);
// nullopt unless `text` is the canonical unpadded encoding of some bytes.
std::optional<std::string> base64_decode(std::string_view text);

// One recipient stanza: "-> " arguments, then the body. args[0] is its type.
struct Stanza {
  std::vector<std::string> args;
  std::string body;
};

inline constexpr std::string_view version_line = "age-encryption.org/v1";

// The header up to and including "---", the part the MAC covers; `mac_key`
// is HKDF(file key, "", "header").
std::string encode_header_without_mac(const std::vector<Stanza>& stanzas);
std::string encode_mac_line(const Bytes32& mac);

// Reads a header line by line. Each call gets one line without its '\n';
// a malformed line throws AgeError(header). `done()` turns true with the
// MAC line; `covered()` is then the exact bytes the MAC is computed over.
class HeaderParser {
 public:
  void line(std::string_view text);
  bool done() const { return state_ == State::done; }
  const std::vector<Stanza>& stanzas() const { return stanzas_; }
  const std::string& covered() const { return covered_; }
  const Bytes32& mac() const { return mac_; }

 private:
  enum class State { version, stanza_or_end, body, done };
  State state_ = State::version;
  std::vector<Stanza> stanzas_;
  std::string body_text_;  // the base64 lines of the stanza being read
  std::string covered_;
  Bytes32 mac_{};
};

}  // namespace dockform::crypto::age
