#include "dockform/crypto/bech32.hpp"

#include <cstdint>

#include "dockform/crypto/primitives.hpp"

namespace dockform::crypto::bech32 {
namespace {

constexpr std::string_view charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint32_t polymod(const std::vector<unsigned char>& values) {
  constexpr std::uint32_t generator[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::uint32_t checksum = 1;
  for (unsigned char value : values) {
    const std::uint32_t top = checksum >> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) checksum ^= generator[i];
    }
  }
  return checksum;
}

// The human-readable part as the checksum sees it: high bits, a zero, low bits.
std::vector<unsigned char> expand_hrp(std::string_view hrp) {
  std::vector<unsigned char> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<unsigned char>(static_cast<unsigned char>(c) >> 5));
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<unsigned char>(static_cast<unsigned char>(c) & 31));
  return out;
}

// Bech32 carries secret keys too: scratch copies are wiped.
void wipe(std::vector<unsigned char>& bytes) { cleanse(bytes.data(), bytes.size()); }

// Regroups `from`-bit values into `to`-bit values; with `pad` the last group
// is filled with zero bits, without it leftover bits must be fewer than
// `from` and zero.
bool convert_bits(const std::vector<unsigned char>& in, int from, int to, bool pad, std::vector<unsigned char>& out) {
  std::uint32_t accumulator = 0;
  int bits = 0;
  const std::uint32_t mask = (1u << to) - 1;
  for (unsigned char value : in) {
    if ((value >> from) != 0) return false;
    accumulator = (accumulator << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<unsigned char>((accumulator >> bits) & mask));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<unsigned char>((accumulator << (to - bits)) & mask));
  } else if (bits >= from || ((accumulator << (to - bits)) & mask) != 0) {
    return false;
  }
  return true;
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

std::string encode(std::string_view hrp, const std::vector<unsigned char>& data, bool upper) {
  std::string lower_hrp;
  for (char c : hrp) lower_hrp.push_back(to_lower(c));
  std::vector<unsigned char> values;
  convert_bits(data, 8, 5, true, values);
  std::vector<unsigned char> checked = expand_hrp(lower_hrp);
  checked.insert(checked.end(), values.begin(), values.end());
  checked.insert(checked.end(), 6, 0);
  const std::uint32_t checksum = polymod(checked) ^ 1;
  for (int i = 0; i < 6; ++i) values.push_back(static_cast<unsigned char>((checksum >> (5 * (5 - i))) & 31));
  std::string out = lower_hrp + "1";
  for (unsigned char value : values) out.push_back(charset[value]);
  wipe(values);
  wipe(checked);
  if (upper) {
    for (char& c : out) c = to_upper(c);
  }
  return out;
}

std::optional<Decoded> decode(std::string_view text, std::string* why) {
  auto bad = [why](const char* reason) -> std::optional<Decoded> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  bool has_lower = false;
  bool has_upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return bad("a character outside printable ASCII");
    if (c >= 'a' && c <= 'z') has_lower = true;
    if (c >= 'A' && c <= 'Z') has_upper = true;
  }
  if (has_lower && has_upper) return bad("mixed upper and lower case");
  const std::size_t separator = text.rfind('1');
  if (separator == std::string_view::npos || separator == 0) return bad("no human-readable part");
  if (text.size() - separator - 1 < 6) return bad("too short for a checksum");
  Decoded out;
  for (char c : text.substr(0, separator)) out.hrp.push_back(to_lower(c));
  std::vector<unsigned char> values;
  for (char c : text.substr(separator + 1)) {
    const std::size_t index = charset.find(to_lower(c));
    if (index == std::string_view::npos) return bad("a character outside the bech32 alphabet");
    values.push_back(static_cast<unsigned char>(index));
  }
  std::vector<unsigned char> checked = expand_hrp(out.hrp);
  checked.insert(checked.end(), values.begin(), values.end());
  const bool checksum_ok = polymod(checked) == 1;
  wipe(checked);
  if (!checksum_ok) {
    wipe(values);
    return bad("a bad checksum");
  }
  values.resize(values.size() - 6);
  const bool padding_ok = convert_bits(values, 5, 8, false, out.data);
  wipe(values);
  if (!padding_ok) {
    wipe(out.data);
    return bad("bad padding");
  }
  return out;
}

}  // namespace dockform::crypto::bech32
