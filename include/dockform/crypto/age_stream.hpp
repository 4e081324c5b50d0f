#pragma once
// The age v1 payload: STREAM over ChaCha20-Poly1305 in 64 KiB chunks, each
// with a 12-byte nonce of an 11-byte big-endian chunk counter and a final-chunk
// flag byte, under payload key = HKDF-SHA-256(file key, nonce, "payload").
// Both directions hold one chunk at a time.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/crypto/age.hpp"
#include "dockform/crypto/primitives.hpp"

namespace dockform::crypto::age {

inline constexpr std::size_t file_key_size = 16;
inline constexpr std::size_t payload_nonce_size = 16;
using FileKey = Secret<file_key_size>;

// HKDF-SHA-256(file key, nonce, "payload"): the key of every chunk.
Secret<32> payload_key(const FileKey& file_key, const unsigned char nonce[payload_nonce_size]);

// Opens any one chunk by its number, for reads at random offsets (a
// seekable snapshot inside age). The final flag is the caller's to give:
// the file's size says which chunk is the last.
class ChunkOpener {
 public:
  explicit ChunkOpener(const Secret<32>& payload_key) : aead_(payload_key.data()) {}
  // The plaintext of chunk `counter`; AgeError(payload, Exit::refused) when
  // it does not authenticate as that chunk with that flag.
  std::string open(std::uint64_t counter, bool last, std::string_view sealed);

 private:
  ChaChaPoly aead_;
};

class PayloadEncryptor {
 public:
  PayloadEncryptor(const FileKey& file_key, const unsigned char nonce[payload_nonce_size], Sink sink);
  void write(const char* data, std::size_t size);
  void finish();

 private:
  void seal(bool last);

  ChaChaPoly aead_;
  Sink sink_;
  std::uint64_t counter_ = 0;
  std::vector<unsigned char> plain_;  // the pending chunk
  std::vector<unsigned char> sealed_;
  bool finished_ = false;
};

class PayloadDecryptor {
 public:
  PayloadDecryptor(const FileKey& file_key, const unsigned char nonce[payload_nonce_size], Sink sink);
  void feed(const char* data, std::size_t size);
  void finish();

 private:
  // Opens the pending ciphertext as chunk `counter_` with the final flag;
  // false when it does not authenticate. On success the plaintext is in
  // plain_ (size returned through `size`).
  bool open(bool last, std::size_t& size);
  void deliver(std::size_t size);
  // The pending full-size chunk is followed by more data.
  void open_full_chunk();

  ChaChaPoly aead_;
  Sink sink_;
  std::uint64_t counter_ = 0;
  std::vector<unsigned char> sealed_;  // the pending chunk, up to 64 KiB + 16
  std::vector<unsigned char> plain_;
  bool finished_ = false;
};

}  // namespace dockform::crypto::age
