#include "dockform/crypto/primitives.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <string>

#include "dockform/util/error.hpp"

namespace dockform::crypto {
namespace {

struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// An OpenSSL failure that is not about the data: the library is broken or out
// of memory. The queued OpenSSL error says which.
[[noreturn]] void fail(const char* what) {
  const unsigned long code = ERR_get_error();
  std::string message = std::string("OpenSSL: ") + what + " failed";
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += std::string(" (") + text + ")";
  }
  ERR_clear_error();
  throw Error(message);
}

// Runs the KDF `name` with `params` into 32 bytes at `out`.
void derive(const char* name, OSSL_PARAM* params, unsigned char out[32]) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, name, nullptr));
  if (!kdf) fail(name);
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) fail(name);
  if (EVP_KDF_derive(ctx.get(), out, 32, params) != 1) fail(name);
}

PkeyPtr x25519_private_key(const unsigned char scalar[32]) {
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar, 32));
  if (!key) fail("X25519 private key");
  return key;
}

}  // namespace

void cleanse(void* data, std::size_t size) { OPENSSL_cleanse(data, size); }

void random_bytes(void* out, std::size_t size) {
  if (size > INT_MAX || RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(size)) != 1) {
    fail("RAND_bytes");
  }
}

void hkdf_sha256(const unsigned char* ikm, std::size_t ikm_size, const unsigned char* salt, std::size_t salt_size,
                 std::string_view info, unsigned char out[32]) {
  // OSSL_PARAM wants non-const pointers; the KDF only reads them.
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(ikm), ikm_size);
  // No salt is the same as an empty one (RFC 5869: HashLen zero bytes).
  if (salt_size != 0) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(salt), salt_size);
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  derive("HKDF", params, out);
}

Bytes32 hmac_sha256(const unsigned char key[32], const void* data, std::size_t size) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) fail("HMAC");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) fail("HMAC");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key, 32, params) != 1) fail("HMAC init");
  if (EVP_MAC_update(ctx.get(), static_cast<const unsigned char*>(data), size) != 1) fail("HMAC update");
  Bytes32 out{};
  std::size_t length = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != out.size()) fail("HMAC final");
  return out;
}

Bytes32 x25519_public(const unsigned char scalar[32]) {
  PkeyPtr key = x25519_private_key(scalar);
  Bytes32 out{};
  std::size_t length = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &length) != 1 || length != out.size()) {
    fail("X25519 public key");
  }
  return out;
}

bool x25519(const unsigned char scalar[32], const unsigned char point[32], unsigned char out[32]) {
  PkeyPtr key = x25519_private_key(scalar);
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, point, 32));
  if (!peer) fail("X25519 public key");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    fail("X25519");
  }
  std::size_t length = 32;
  // OpenSSL refuses to derive an all-zero secret (a low-order point); that is
  // the only way this step fails for well-formed 32-byte inputs.
  if (EVP_PKEY_derive(ctx.get(), out, &length) != 1 || length != 32) {
    ERR_clear_error();
    cleanse(out, 32);
    return false;
  }
  unsigned char any = 0;
  for (std::size_t i = 0; i < 32; ++i) any = static_cast<unsigned char>(any | out[i]);
  return any != 0;
}

void scrypt(std::string_view passphrase, const unsigned char* salt, std::size_t salt_size, int log_n, std::uint32_t r,
            std::uint32_t p, unsigned char out[32]) {
  if (log_n < 1 || log_n > 62) throw Error("scrypt: work factor out of range");
  std::uint64_t n = std::uint64_t{1} << log_n;
  // OpenSSL's own default ceiling is 1 GiB; the caller bounds log_n, so allow
  // exactly what these parameters need (128·r·(N + p + 2) bytes).
  std::uint64_t maxmem = 128ull * r * (n + p + 2);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(passphrase.data()),
                                        passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(salt), salt_size),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  derive("SCRYPT", params, out);
}

void ChaChaPoly::CtxFree::operator()(evp_cipher_ctx_st* ctx) const { EVP_CIPHER_CTX_free(ctx); }

ChaChaPoly::ChaChaPoly(const unsigned char key[32]) : encrypt_(EVP_CIPHER_CTX_new()), decrypt_(EVP_CIPHER_CTX_new()) {
  if (!encrypt_ || !decrypt_) fail("ChaCha20-Poly1305");
  // The key is set once; each message then only sets its nonce.
  if (EVP_EncryptInit_ex(encrypt_.get(), EVP_chacha20_poly1305(), nullptr, key, nullptr) != 1 ||
      EVP_DecryptInit_ex(decrypt_.get(), EVP_chacha20_poly1305(), nullptr, key, nullptr) != 1) {
    fail("ChaCha20-Poly1305 init");
  }
}

ChaChaPoly::~ChaChaPoly() = default;

void ChaChaPoly::seal(const unsigned char nonce[12], const unsigned char* in, std::size_t size, unsigned char* out) {
  EVP_CIPHER_CTX* ctx = encrypt_.get();
  if (size > INT_MAX) throw Error("ChaCha20-Poly1305: message too large");
  int length = 0;
  int final_length = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      (size != 0 && EVP_EncryptUpdate(ctx, out, &length, in, static_cast<int>(size)) != 1) ||
      EVP_EncryptFinal_ex(ctx, out + length, &final_length) != 1 ||
      static_cast<std::size_t>(length + final_length) != size ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_size), out + size) != 1) {
    fail("ChaCha20-Poly1305 seal");
  }
}

bool ChaChaPoly::open(const unsigned char nonce[12], const unsigned char* in, std::size_t size, unsigned char* out) {
  if (size < tag_size) return false;
  const std::size_t text_size = size - tag_size;
  if (text_size > INT_MAX) throw Error("ChaCha20-Poly1305: message too large");
  EVP_CIPHER_CTX* ctx = decrypt_.get();
  unsigned char tag[tag_size];
  for (std::size_t i = 0; i < tag_size; ++i) tag[i] = in[text_size + i];
  int length = 0;
  int final_length = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      (text_size != 0 && EVP_DecryptUpdate(ctx, out, &length, in, static_cast<int>(text_size)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag_size), tag) != 1) {
    fail("ChaCha20-Poly1305 open");
  }
  // Only the final step compares the tag; its failure is the data's fault.
  if (EVP_DecryptFinal_ex(ctx, out + length, &final_length) != 1) {
    ERR_clear_error();
    return false;
  }
  return static_cast<std::size_t>(length + final_length) == text_size;
}

}  // namespace dockform::crypto
