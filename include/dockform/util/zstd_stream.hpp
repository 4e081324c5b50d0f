#pragma once
// Thin RAII wrappers over libzstd's streaming API.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace dockform::util {

// Frees a libzstd context (zstd_stream.cpp): the contexts are owned from the
// moment they exist, so a constructor that throws after creating one frees it.
struct ZstdContextFree {
  void operator()(ZSTD_CCtx_s* ctx) const;
  void operator()(ZSTD_DCtx_s* ctx) const;
};

using ByteSink = std::function<void(const char* data, std::size_t size)>;

class ZstdCompressor {
 public:
  // threads > 0 enables libzstd's worker threads (compression overlaps our I/O).
  ZstdCompressor(int level, int threads, ByteSink sink);
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  void write(const char* data, std::size_t size);
  void finish();  // ends the frame (with its content checksum)

 private:
  void drive(const char* data, std::size_t size, int mode);
  std::unique_ptr<ZSTD_CCtx_s, ZstdContextFree> ctx_;
  ByteSink sink_;
  std::vector<char> out_;
};

// Pull-style decoder: each read() returns at most one output buffer, so a
// small input that expands enormously never needs more memory than that.
class ZstdReader {
 public:
  // Returns the next chunk of compressed input; empty at its end. The chunk
  // must stay valid until the next call.
  using Fill = std::function<std::string_view()>;
  explicit ZstdReader(Fill fill);
  ZstdReader(const ZstdReader&) = delete;
  ZstdReader& operator=(const ZstdReader&) = delete;

  // The next decompressed bytes; empty at the end of the input. Throws Error
  // on corrupt data (bad frame, frame checksum mismatch) and when the input
  // ends inside a frame.
  std::string_view read();

 private:
  std::unique_ptr<ZSTD_DCtx_s, ZstdContextFree> ctx_;
  Fill fill_;
  std::string_view input_;
  std::size_t input_pos_ = 0;
  std::vector<char> out_;
  bool mid_frame_ = false;
  bool eof_ = false;
};

// One zstd frame per call, for frames that must decode alone (the seekable
// format): content size in the header, content checksum on, no dictionary.
class ZstdFrameCompressor {
 public:
  explicit ZstdFrameCompressor(int level);
  std::string compress(std::string_view data);
  // The same frame in a buffer this compressor keeps for the next call: no
  // allocation and no zero-filling per frame. Valid until the next call.
  std::string_view compress_view(std::string_view data);
  // The same frame into `out`, which holds zstd_compress_bound(data.size())
  // bytes or more; returns its size.
  std::size_t compress_into(std::string_view data, char* out, std::size_t capacity);

 private:
  std::unique_ptr<ZSTD_CCtx_s, ZstdContextFree> ctx_;
  std::unique_ptr<char[]> out_;
  std::size_t out_capacity_ = 0;
};

// The content of one whole zstd frame whose header records a content size of
// at most `limit` bytes; throws Error (Exit::refused) on damaged data.
std::string zstd_decompress_frame(std::string_view frame, std::size_t limit);

// True when `data` starts with the zstd frame magic.
bool has_zstd_magic(const unsigned char* data, std::size_t size);
// The largest a frame holding `size` bytes can be, header and checksum included.
std::uint64_t zstd_compress_bound(std::uint64_t size);
// Decompressed size recorded in the first frame header, when it records one.
std::optional<std::uint64_t> zstd_content_size(const void* data, std::size_t size);

}  // namespace dockform::util
