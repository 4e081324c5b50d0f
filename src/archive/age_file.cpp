#include "dockform/archive/age_file.hpp"

#include <algorithm>

#include "dockform/util/error.hpp"

namespace dockform::archive {

namespace age = crypto::age;

namespace {
constexpr std::uint64_t kSealedChunk = age::chunk_size + crypto::ChaChaPoly::tag_size;
// The header is read in pieces this small so that what is fed past the
// payload nonce stays far below one chunk (the decryptor only buffers it).
constexpr std::size_t kHeaderPiece = 1024;

[[noreturn]] void bad(const std::string& why) { throw age::AgeError(age::ErrorKind::payload, why, Exit::refused); }
}  // namespace

AgeFile::AgeFile(std::unique_ptr<RandomAccess> file, const std::vector<age::Identity>& identities)
    : file_(std::move(file)) {
  try {
    read_header(identities);
  } catch (const age::AgeError& e) {
    throw age::AgeError(e.kind(), std::string(e.what()).substr(5), Exit::refused);  // without the "age: " prefix
  }
  const std::uint64_t payload = file_->size() - payload_offset_;
  if (payload < crypto::ChaChaPoly::tag_size) bad("the file has no payload chunks: it is truncated");
  chunks_ = (payload + kSealedChunk - 1) / kSealedChunk;
  const std::uint64_t last = payload - (chunks_ - 1) * kSealedChunk;
  if (last < crypto::ChaChaPoly::tag_size) bad("the last chunk is shorter than its tag: truncated file");
  // No read would reach an empty last chunk after full ones: refused here.
  if (last == crypto::ChaChaPoly::tag_size && chunks_ > 1) {
    bad("an empty final chunk after other chunks (not allowed by age v1)");
  }
  plain_size_ = payload - chunks_ * crypto::ChaChaPoly::tag_size;
  if (plain_size_ == 0) chunk(0);  // no read would ever authenticate it
  bytes_read_ = file_->bytes_read();
}

void AgeFile::read_header(const std::vector<age::Identity>& identities) {
  age::DecryptOptions options;
  age::Decryptor decryptor(
      identities, [](const char*, std::size_t) {}, options);
  const std::uint64_t total = file_->size();
  std::uint64_t at = 0;
  while (decryptor.payload_offset() == 0) {
    if (at >= total || at >= options.max_header_size + age::payload_nonce_size) {
      decryptor.finish();  // names the truncation
      bad("the header does not end");
    }
    auto piece = file_->read(at, static_cast<std::size_t>(std::min<std::uint64_t>(kHeaderPiece, total - at)));
    decryptor.feed(piece);
    at += piece.size();
  }
  payload_offset_ = decryptor.payload_offset();
  opener_.emplace(decryptor.payload_key());
}

const std::string& AgeFile::chunk(std::uint64_t number) {
  if (number == cached_number_) return cached_;
  const std::uint64_t begin = payload_offset_ + number * kSealedChunk;
  const std::uint64_t length = std::min(kSealedChunk, file_->size() - begin);
  std::string sealed = file_->read(begin, static_cast<std::size_t>(length));
  bytes_read_ = file_->bytes_read();
  return open_chunk(number, sealed, begin);
}

std::string AgeFile::read(std::uint64_t offset, std::size_t length) {
  if (offset > plain_size_ || length > plain_size_ - offset) {
    throw Error("the encrypted snapshot is shorter than its seek table says", Exit::refused);
  }
  std::string out;
  out.reserve(length);
  if (length == 0) return out;
  const std::uint64_t first = offset / age::chunk_size;
  const std::uint64_t last = (offset + length - 1) / age::chunk_size;
  // Several chunks come in one read of the file (one ranged GET from a
  // bucket, not one per 64 KiB), each opened as it is used.
  std::string sealed;
  std::uint64_t sealed_from = 0;
  if (last > first) {
    sealed_from = payload_offset_ + first * kSealedChunk;
    const std::uint64_t end = std::min(payload_offset_ + (last + 1) * kSealedChunk, file_->size());
    sealed = file_->read(sealed_from, static_cast<std::size_t>(end - sealed_from));
    bytes_read_ = file_->bytes_read();
  }
  for (std::uint64_t number = first; number <= last; ++number) {
    const std::string& plain = sealed.empty() ? chunk(number) : open_chunk(number, sealed, sealed_from);
    const std::uint64_t at = offset + out.size();
    const std::uint64_t inside = at - number * age::chunk_size;
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(length - out.size(), plain.size() - inside));
    out.append(plain, static_cast<std::size_t>(inside), take);
  }
  return out;
}

const std::string& AgeFile::open_chunk(std::uint64_t number, const std::string& sealed, std::uint64_t sealed_from) {
  const std::uint64_t begin = payload_offset_ + number * kSealedChunk - sealed_from;
  const std::uint64_t length = std::min<std::uint64_t>(kSealedChunk, sealed.size() - begin);
  cached_number_ = ~std::uint64_t{0};
  cached_ = opener_->open(number, number + 1 == chunks_,
                          std::string_view(sealed).substr(static_cast<std::size_t>(begin), length));
  cached_number_ = number;
  return cached_;
}

}  // namespace dockform::archive
