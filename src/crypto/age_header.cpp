#include "dockform/crypto/age_header.hpp"

#include <cstdint>

#include "dockform/crypto/age.hpp"

namespace dockform::crypto::age {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::size_t columns = 64;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool is_base64_line(std::string_view text) {
  for (char c : text) {
    if (base64_value(c) < 0) return false;
  }
  return true;
}

[[noreturn]] void malformed(const std::string& why) { throw AgeError(ErrorKind::header, "malformed header: " + why); }

// Arguments are 1*VCHAR separated by single spaces.
std::vector<std::string> split_arguments(std::string_view text) {
  std::vector<std::string> args;
  std::size_t start = 0;
  while (true) {
    const std::size_t space = text.find(' ', start);
    const std::string_view arg = text.substr(start, space == std::string_view::npos ? text.npos : space - start);
    if (arg.empty()) malformed("an empty stanza argument (two spaces, or a space at the end)");
    for (char c : arg) {
      if (c < 0x21 || c > 0x7e) malformed("a stanza argument with a character outside printable ASCII");
    }
    args.emplace_back(arg);
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return args;
}

}  // namespace

std::string base64_encode(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (size - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
  } else if (size - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t accumulator = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base64_value(c);
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xff));
    }
  }
  // Canonical: the bits left over after the last full byte are zero.
  if ((accumulator & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string encode_header_without_mac(const std::vector<Stanza>& stanzas) {
  std::string out(version_line);
  out += '\n';
  for (const Stanza& stanza : stanzas) {
    out += "->";
    for (const std::string& arg : stanza.args) out += ' ' + arg;
    out += '\n';
    const std::string body =
        base64_encode(reinterpret_cast<const unsigned char*>(stanza.body.data()), stanza.body.size());
    // Full 64-column lines, then a shorter final line (empty when the body
    // fills its last line exactly).
    std::size_t i = 0;
    for (; i + columns <= body.size(); i += columns) out.append(body, i, columns).push_back('\n');
    out.append(body, i, body.npos).push_back('\n');
  }
  out += "---";
  return out;
}

std::string encode_mac_line(const Bytes32& mac) { return " " + base64_encode(mac.data(), mac.size()) + "\n"; }

void HeaderParser::line(std::string_view text) {
  switch (state_) {
    case State::version:
      if (text != version_line) {
        if (text.starts_with("age-encryption.org/")) {
          malformed("unsupported version \"" + std::string(text.substr(0, 64)) + "\" (only v1 is known)");
        }
        malformed("the file does not start with \"age-encryption.org/v1\": not an age file");
      }
      covered_.append(text).push_back('\n');
      state_ = State::stanza_or_end;
      return;
    case State::stanza_or_end:
      if (text.starts_with("-> ")) {
        stanzas_.push_back(Stanza{split_arguments(text.substr(3)), {}});
        covered_.append(text).push_back('\n');
        state_ = State::body;
        return;
      }
      if (text.starts_with("---")) {
        if (stanzas_.empty()) malformed("no recipient stanza");
        const std::string_view rest = text.substr(3);
        if (rest.size() != 44 || rest[0] != ' ') malformed("the MAC line is not \"--- \" and 43 base64 characters");
        const std::optional<std::string> mac = base64_decode(rest.substr(1));
        if (!mac || mac->size() != mac_.size()) malformed("the MAC is not canonical base64");
        for (std::size_t i = 0; i < mac_.size(); ++i) mac_[i] = static_cast<unsigned char>((*mac)[i]);
        covered_ += "---";
        state_ = State::done;
        return;
      }
      malformed(stanzas_.empty() ? "no recipient stanza after the version line"
                                 : "a line that starts neither a stanza (\"-> \") nor the MAC (\"---\")");
    case State::body:
      if (text.size() > columns || !is_base64_line(text)) {
        malformed("a stanza body line that is not at most 64 base64 characters");
      }
      covered_.append(text).push_back('\n');
      body_text_.append(text);
      if (text.size() == columns) return;
      {
        std::optional<std::string> body = base64_decode(body_text_);
        if (!body) malformed("a stanza body that is not canonical base64");
        stanzas_.back().body = std::move(*body);
        body_text_.clear();
        state_ = State::stanza_or_end;
      }
      return;
    case State::done: malformed("data after the MAC line was read as header");
  }
}

}  // namespace dockform::crypto::age
