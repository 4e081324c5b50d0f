#pragma once
// Thin RAII wrappers over libzstd's streaming API.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace dockform::util {

using ByteSink = std::function<void(const char* data, std::size_t size)>;

class ZstdCompressor {
 public:
  // threads > 0 enables libzstd's worker threads (compression overlaps our I/O).
  ZstdCompressor(int level, int threads, ByteSink sink);
  ~ZstdCompressor();
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  void write(const char* data, std::size_t size);
  void finish();  // ends the frame (with its content checksum)

 private:
  void drive(const char* data, std::size_t size, int mode);
  ZSTD_CCtx_s* ctx_;
  ByteSink sink_;
  std::vector<char> out_;
};

class ZstdDecompressor {
 public:
  explicit ZstdDecompressor(ByteSink sink);
  ~ZstdDecompressor();
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

  // Throws util Error on corrupt input (bad frame, checksum mismatch).
  void write(const char* data, std::size_t size);
  // Throws unless the input ended exactly at the end of a frame.
  void finish();

 private:
  ZSTD_DCtx_s* ctx_;
  ByteSink sink_;
  std::vector<char> out_;
  bool mid_frame_ = false;
};

// True when `data` starts with the zstd frame magic.
bool has_zstd_magic(const unsigned char* data, std::size_t size);
// Decompressed size recorded in the first frame header, when it records one.
std::optional<std::uint64_t> zstd_content_size(const void* data, std::size_t size);

}  // namespace dockform::util
