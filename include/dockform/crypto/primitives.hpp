#pragma once
// The few primitives age is built from, each a thin wrapper over OpenSSL 3's
// EVP interface: random bytes, HKDF-SHA-256, HMAC-SHA-256, X25519, scrypt and
// ChaCha20-Poly1305. Every OpenSSL object is owned by a unique_ptr; key
// material lives in `Secret`, wiped with OPENSSL_cleanse when it goes.
// Failures of OpenSSL itself (out of memory, a missing provider) throw
// dockform::Error; a failed authentication is a return value.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

struct evp_cipher_ctx_st;

namespace dockform::crypto {

// Wipes `size` bytes at `data` in a way the compiler cannot drop.
void cleanse(void* data, std::size_t size);

// N bytes of key material, wiped on destruction (and before reuse by copy).
template <std::size_t N>
class Secret {
 public:
  Secret() { bytes_.fill(0); }
  ~Secret() { cleanse(bytes_.data(), N); }
  Secret(const Secret& other) : bytes_(other.bytes_) {}
  Secret& operator=(const Secret& other) {
    bytes_ = other.bytes_;
    return *this;
  }

  unsigned char* data() { return bytes_.data(); }
  const unsigned char* data() const { return bytes_.data(); }
  static constexpr std::size_t size() { return N; }

 private:
  std::array<unsigned char, N> bytes_;
};

using Bytes32 = std::array<unsigned char, 32>;

// Fills `out` from the CSPRNG (RAND_bytes).
void random_bytes(void* out, std::size_t size);

// HKDF-SHA-256 (extract with `salt`, then expand with `info`) to 32 bytes.
void hkdf_sha256(const unsigned char* ikm, std::size_t ikm_size, const unsigned char* salt, std::size_t salt_size,
                 std::string_view info, unsigned char out[32]);

// HMAC-SHA-256 of `data` under a 32-byte key.
Bytes32 hmac_sha256(const unsigned char key[32], const void* data, std::size_t size);

// The X25519 public key of a 32-byte private scalar.
Bytes32 x25519_public(const unsigned char scalar[32]);
// X25519(scalar, point) into `out`; false when the result would be all zero
// bytes (a low-order point), which callers must refuse.
bool x25519(const unsigned char scalar[32], const unsigned char point[32], unsigned char out[32]);

// scrypt(N = 2^log_n, r, p) of `passphrase` with `salt`, to 32 bytes.
void scrypt(std::string_view passphrase, const unsigned char* salt, std::size_t salt_size, int log_n, std::uint32_t r,
            std::uint32_t p, unsigned char out[32]);

// ChaCha20-Poly1305 (RFC 7539) under one key, reused for many messages with
// different nonces: the cipher context is set up once.
class ChaChaPoly {
 public:
  static constexpr std::size_t tag_size = 16;
  static constexpr std::size_t nonce_size = 12;

  explicit ChaChaPoly(const unsigned char key[32]);
  ~ChaChaPoly();
  ChaChaPoly(const ChaChaPoly&) = delete;
  ChaChaPoly& operator=(const ChaChaPoly&) = delete;

  // Writes size + 16 bytes (ciphertext, then tag) to `out`.
  void seal(const unsigned char nonce[12], const unsigned char* in, std::size_t size, unsigned char* out);
  // Opens size bytes (ciphertext and tag, size >= 16) into size - 16 bytes
  // at `out`; false when the tag does not match (then `out` holds garbage).
  bool open(const unsigned char nonce[12], const unsigned char* in, std::size_t size, unsigned char* out);

 private:
  struct CtxFree {
    void operator()(evp_cipher_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_cipher_ctx_st, CtxFree> encrypt_;
  std::unique_ptr<evp_cipher_ctx_st, CtxFree> decrypt_;
};

}  // namespace dockform::crypto
