#pragma once
// An encrypted snapshot (.tar.zst.age) read at random: the age header once,
// then only the STREAM chunks a read covers, each authenticated as the
// chunk of its number (the last one with the final flag). The file's size
// says how many chunks there are and so which one is the last: a file cut
// at a chunk boundary fails as its new last chunk lacks the flag.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/seekable.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/crypto/age_stream.hpp"

namespace dockform::archive {

class AgeFile : public RandomAccess {
 public:
  // Reads and checks the header (crypto::age::AgeError when no identity
  // opens it or its MAC is wrong).
  AgeFile(std::unique_ptr<RandomAccess> file, const std::vector<crypto::age::Identity>& identities);
  // The plaintext's size.
  std::uint64_t size() override { return plain_size_; }
  std::string read(std::uint64_t offset, std::size_t length) override;
  // bytes_read() counts the encrypted file's bytes.

 private:
  void read_header(const std::vector<crypto::age::Identity>& identities);
  const std::string& chunk(std::uint64_t number);
  // Chunk `number` from `sealed`, the file's bytes read from `sealed_from`.
  const std::string& open_chunk(std::uint64_t number, const std::string& sealed, std::uint64_t sealed_from);

  std::unique_ptr<RandomAccess> file_;
  std::optional<crypto::age::ChunkOpener> opener_;
  std::uint64_t payload_offset_ = 0;
  std::uint64_t chunks_ = 0;
  std::uint64_t plain_size_ = 0;
  std::uint64_t cached_number_ = ~std::uint64_t{0};
  std::string cached_;  // the last chunk opened: reads of the tail come in small pieces
};

}  // namespace dockform::archive
