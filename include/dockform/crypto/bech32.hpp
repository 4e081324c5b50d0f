#pragma once
// Bech32 (BIP 173, not bech32m) as age uses it: no limit on the length of the
// data part, all lower case or all upper case, the checksum computed over the
// lower-case form.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockform::crypto::bech32 {

struct Decoded {
  std::string hrp;  // lower case
  std::vector<unsigned char> data;
};

// `hrp` with `data` (8-bit bytes, regrouped into 5-bit groups), in lower case
// or, with `upper`, in upper case.
std::string encode(std::string_view hrp, const std::vector<unsigned char>& data, bool upper = false);

// nullopt with `why` set when `text` is not valid bech32: mixed case, a
// character outside the alphabet, a bad checksum or bad padding.
std::optional<Decoded> decode(std::string_view text, std::string* why = nullptr);

}  // namespace dockform::crypto::bech32
