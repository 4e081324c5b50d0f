#pragma once
#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace dockform::util {

// Incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex digest; the object cannot be updated afterwards.
  std::string hex_digest();

 private:
  evp_md_ctx_st* ctx_;
};

std::string sha256_hex(std::string_view data);
// Lower-case hex of `size` bytes (a digest, a random name).
std::string hex(const void* data, std::size_t size);

}  // namespace dockform::util
