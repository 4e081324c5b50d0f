#include "dockform/crypto/age_stream.hpp"

#include <algorithm>
#include <string>

namespace dockform::crypto::age {
namespace {

constexpr std::size_t sealed_chunk_size = chunk_size + ChaChaPoly::tag_size;

// 11-byte big-endian counter, then the final flag. The counter is kept in 64
// bits: 2^64 chunks of 64 KiB are out of reach.
void chunk_nonce(std::uint64_t counter, bool last, unsigned char nonce[12]) {
  for (int i = 0; i < 3; ++i) nonce[i] = 0;
  for (int i = 0; i < 8; ++i) nonce[3 + i] = static_cast<unsigned char>(counter >> (8 * (7 - i)));
  nonce[11] = last ? 1 : 0;
}

[[noreturn]] void bad_payload(const std::string& why) { throw AgeError(ErrorKind::payload, why); }

}  // namespace

Secret<32> payload_key(const FileKey& file_key, const unsigned char nonce[payload_nonce_size]) {
  Secret<32> key;
  hkdf_sha256(file_key.data(), file_key.size(), nonce, payload_nonce_size, "payload", key.data());
  return key;
}

std::string ChunkOpener::open(std::uint64_t counter, bool last, std::string_view sealed) {
  if (sealed.size() < ChaChaPoly::tag_size || sealed.size() > sealed_chunk_size) {
    throw AgeError(ErrorKind::payload, "chunk " + std::to_string(counter) + " has an impossible size", Exit::refused);
  }
  unsigned char nonce[12];
  chunk_nonce(counter, last, nonce);
  std::string plain(sealed.size() - ChaChaPoly::tag_size, '\0');
  if (!aead_.open(nonce, reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                  reinterpret_cast<unsigned char*>(plain.data()))) {
    throw AgeError(ErrorKind::payload,
                   "chunk " + std::to_string(counter) + " does not authenticate: the file is corrupt or was modified",
                   Exit::refused);
  }
  return plain;
}

PayloadEncryptor::PayloadEncryptor(const FileKey& file_key, const unsigned char nonce[payload_nonce_size], Sink sink)
    : aead_(payload_key(file_key, nonce).data()), sink_(std::move(sink)) {
  plain_.reserve(chunk_size);
  sealed_.resize(sealed_chunk_size);
}

void PayloadEncryptor::seal(bool last) {
  unsigned char nonce[12];
  chunk_nonce(counter_, last, nonce);
  aead_.seal(nonce, plain_.data(), plain_.size(), sealed_.data());
  const std::size_t size = plain_.size() + ChaChaPoly::tag_size;
  plain_.clear();
  ++counter_;
  sink_(reinterpret_cast<const char*>(sealed_.data()), size);
}

void PayloadEncryptor::write(const char* data, std::size_t size) {
  if (finished_) throw Error("age: write after finish");
  while (size > 0) {
    // A full chunk is sealed only once more data shows it is not the last.
    if (plain_.size() == chunk_size) seal(false);
    const std::size_t take = std::min(size, chunk_size - plain_.size());
    plain_.insert(plain_.end(), data, data + take);
    data += take;
    size -= take;
  }
}

void PayloadEncryptor::finish() {
  if (finished_) return;
  // Empty only when nothing was written: an empty file is one empty chunk.
  seal(true);
  finished_ = true;
}

PayloadDecryptor::PayloadDecryptor(const FileKey& file_key, const unsigned char nonce[payload_nonce_size], Sink sink)
    : aead_(payload_key(file_key, nonce).data()), sink_(std::move(sink)) {
  sealed_.reserve(sealed_chunk_size);
  plain_.resize(chunk_size);
}

bool PayloadDecryptor::open(bool last, std::size_t& size) {
  if (sealed_.size() < ChaChaPoly::tag_size) return false;
  unsigned char nonce[12];
  chunk_nonce(counter_, last, nonce);
  size = sealed_.size() - ChaChaPoly::tag_size;
  return aead_.open(nonce, sealed_.data(), sealed_.size(), plain_.data());
}

void PayloadDecryptor::deliver(std::size_t size) {
  sealed_.clear();
  ++counter_;
  if (size > 0) sink_(reinterpret_cast<const char*>(plain_.data()), size);
}

void PayloadDecryptor::open_full_chunk() {
  std::size_t size = 0;
  if (open(false, size)) return deliver(size);
  if (open(true, size)) {
    // An authentic final chunk: what it holds is released, the rest refused.
    deliver(size);
    bad_payload("data after the final chunk: the file was appended to or is corrupt");
  }
  bad_payload("chunk " + std::to_string(counter_) + " does not authenticate: the file is corrupt or was modified");
}

void PayloadDecryptor::feed(const char* data, std::size_t size) {
  if (finished_) bad_payload("data after the end of the file");
  while (size > 0) {
    if (sealed_.size() == sealed_chunk_size) open_full_chunk();
    const std::size_t take = std::min(size, sealed_chunk_size - sealed_.size());
    sealed_.insert(sealed_.end(), reinterpret_cast<const unsigned char*>(data),
                   reinterpret_cast<const unsigned char*>(data) + take);
    data += take;
    size -= take;
  }
}

void PayloadDecryptor::finish() {
  if (finished_) return;
  finished_ = true;
  if (sealed_.empty()) {
    if (counter_ == 0) bad_payload("the file has no payload chunks: it is truncated");
    bad_payload("the file ends after chunk " + std::to_string(counter_ - 1) +
                " without a final chunk: it is truncated");
  }
  if (sealed_.size() < ChaChaPoly::tag_size) bad_payload("the last chunk is shorter than its tag: truncated file");
  std::size_t size = 0;
  if (open(true, size)) {
    if (size == 0 && counter_ > 0) bad_payload("an empty final chunk after other chunks (not allowed by age v1)");
    return deliver(size);
  }
  if (sealed_.size() == sealed_chunk_size && open(false, size)) {
    deliver(size);
    bad_payload("the file ends after chunk " + std::to_string(counter_ - 1) +
                " without a final chunk: it is truncated");
  }
  bad_payload("the final chunk does not authenticate: the file is corrupt, truncated or was modified");
}

}  // namespace dockform::crypto::age
