// age decryption (header parser, stanza unwrapping, STREAM payload): any
// bytes, fed in pieces, give plaintext or a dockform::Error, never a crash
// or a leak. The identity is the one most testkit vectors use, so the seeds
// (tests/fuzz/corpus/age_decrypt: testkit vectors' files) reach the payload.
// No passphrase identity: a scrypt stanza fails at once instead of running
// scrypt for every input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dockform/crypto/age.hpp"
#include "dockform/util/error.hpp"

namespace age = dockform::crypto::age;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const age::X25519Identity identity =
      age::parse_identity("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0");
  std::vector<age::Identity> identities;
  identities.emplace_back(age::X25519Identity{identity.secret});
  std::size_t released = 0;
  try {
    age::Decryptor decryptor(std::move(identities), [&](const char*, std::size_t n) { released += n; });
    // Pieces of a size taken from the first byte: the parser must not depend
    // on how the bytes arrive.
    std::size_t piece = size == 0 ? 1 : 1 + data[0] % 97;
    for (std::size_t at = 0; at < size; at += piece) {
      decryptor.feed(reinterpret_cast<const char*>(data) + at, std::min(piece, size - at));
    }
    decryptor.finish();
  } catch (const dockform::Error&) {
  }
  return 0;
}
