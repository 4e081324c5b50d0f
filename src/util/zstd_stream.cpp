#include "dockform/util/zstd_stream.hpp"

#include <zstd.h>

#include "dockform/util/error.hpp"

namespace dockform::util {

namespace {
void check(std::size_t rc, const char* what) {
  if (ZSTD_isError(rc)) throw Error(std::string(what) + ": " + ZSTD_getErrorName(rc));
}
}  // namespace

void ZstdContextFree::operator()(ZSTD_CCtx_s* ctx) const { ZSTD_freeCCtx(ctx); }
void ZstdContextFree::operator()(ZSTD_DCtx_s* ctx) const { ZSTD_freeDCtx(ctx); }

ZstdCompressor::ZstdCompressor(int level, int threads, ByteSink sink)
    : ctx_(ZSTD_createCCtx()), sink_(std::move(sink)), out_(ZSTD_CStreamOutSize()) {
  if (ctx_ == nullptr) throw Error("cannot allocate a zstd compressor");
  check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_compressionLevel, level), "zstd level");
  check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_checksumFlag, 1), "zstd checksum flag");
  if (threads > 0) {
    // Ignored (error) when libzstd was built without threads: fall back to one.
    ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_nbWorkers, threads);
    // The automatic job size (4 windows, 8 MiB at level 3) keeps several jobs
    // of input and output in flight: 2 MiB jobs hold peak RSS near 30-45 MiB
    // instead of 70-110 MiB, with the same throughput on two cores. High
    // levels have windows larger than that and would re-read the overlap of
    // every job, so they keep the automatic size (and need more memory).
    if (level <= 9) ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_jobSize, 2 << 20);
  }
}

void ZstdCompressor::drive(const char* data, std::size_t size, int mode) {
  ZSTD_inBuffer in{data, size, 0};
  const auto directive = static_cast<ZSTD_EndDirective>(mode);
  for (;;) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    std::size_t remaining = ZSTD_compressStream2(ctx_.get(), &out, &in, directive);
    check(remaining, "zstd compression failed");
    if (out.pos > 0) sink_(out_.data(), out.pos);
    bool done = directive == ZSTD_e_end ? remaining == 0 : in.pos == in.size;
    if (done) break;
  }
}

void ZstdCompressor::write(const char* data, std::size_t size) { drive(data, size, ZSTD_e_continue); }

void ZstdCompressor::finish() { drive(nullptr, 0, ZSTD_e_end); }

ZstdReader::ZstdReader(Fill fill) : ctx_(ZSTD_createDCtx()), fill_(std::move(fill)), out_(1 << 20) {
  if (ctx_ == nullptr) throw Error("cannot allocate a zstd decompressor");
}

std::string_view ZstdReader::read() {
  for (;;) {
    if (input_pos_ == input_.size() && !eof_) {
      input_ = fill_();
      input_pos_ = 0;
      eof_ = input_.empty();
    }
    // Also called with no new input: the decoder may still hold output.
    ZSTD_inBuffer in{input_.data(), input_.size(), input_pos_};
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    std::size_t rc = ZSTD_decompressStream(ctx_.get(), &out, &in);
    // Damaged input is a reason to refuse the archive (exit 3), like a checksum mismatch.
    if (ZSTD_isError(rc)) throw Error(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(rc), Exit::refused);
    // A call that made no progress only hints at the next frame's header size.
    if (in.pos != input_pos_ || out.pos > 0) mid_frame_ = rc != 0;
    input_pos_ = in.pos;
    if (out.pos > 0) return {out_.data(), out.pos};
    if (eof_ && input_pos_ == input_.size()) {
      if (mid_frame_) throw Error("zstd data is truncated: the last frame is incomplete", Exit::refused);
      return {};
    }
  }
}

ZstdFrameCompressor::ZstdFrameCompressor(int level) : ctx_(ZSTD_createCCtx()) {
  if (ctx_ == nullptr) throw Error("cannot allocate a zstd compressor");
  check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_compressionLevel, level), "zstd level");
  check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_checksumFlag, 1), "zstd checksum flag");
}

std::string ZstdFrameCompressor::compress(std::string_view data) { return std::string(compress_view(data)); }

std::string_view ZstdFrameCompressor::compress_view(std::string_view data) {
  std::size_t bound = ZSTD_compressBound(data.size());
  if (bound > out_capacity_) {
    out_ = std::make_unique_for_overwrite<char[]>(bound);
    out_capacity_ = bound;
  }
  return {out_.get(), compress_into(data, out_.get(), bound)};
}

std::size_t ZstdFrameCompressor::compress_into(std::string_view data, char* out, std::size_t capacity) {
  // One call with the whole input: the content size goes into the header.
  std::size_t n = ZSTD_compress2(ctx_.get(), out, capacity, data.data(), data.size());
  check(n, "zstd compression failed");
  return n;
}

std::string zstd_decompress_frame(std::string_view frame, std::size_t limit) {
  unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > limit) {
    throw Error("zstd frame is damaged: no usable content size", Exit::refused);
  }
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n)) throw Error(std::string("zstd frame is damaged: ") + ZSTD_getErrorName(n), Exit::refused);
  if (n != out.size()) throw Error("zstd frame is damaged: shorter than its header says", Exit::refused);
  return out;
}

bool has_zstd_magic(const unsigned char* data, std::size_t size) {
  return size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd;
}

std::uint64_t zstd_compress_bound(std::uint64_t size) { return ZSTD_compressBound(static_cast<std::size_t>(size)); }

std::optional<std::uint64_t> zstd_content_size(const void* data, std::size_t size) {
  unsigned long long n = ZSTD_getFrameContentSize(data, size);
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) return std::nullopt;
  return static_cast<std::uint64_t>(n);
}

}  // namespace dockform::util
