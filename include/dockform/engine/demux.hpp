#pragma once
// Splits the multiplexed attach stream (Tty=false): each frame is an 8-byte
// header (stream type, three zero bytes, big-endian uint32 length) and payload.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace dockform::engine {

enum class StreamType : std::uint8_t { stdin_ = 0, stdout_ = 1, stderr_ = 2 };

class Demuxer {
 public:
  using Sink = std::function<void(StreamType, std::string_view)>;
  explicit Demuxer(Sink sink) : sink_(std::move(sink)) {}

  // Feeds any slice of the stream; payload is passed on as it arrives, without
  // waiting for a whole frame. Throws Error on a malformed header.
  void feed(std::string_view bytes);
  // True when the stream stopped between frames.
  bool at_frame_boundary() const { return header_used_ == 0 && remaining_ == 0; }

 private:
  Sink sink_;
  std::array<unsigned char, 8> header_{};
  std::size_t header_used_ = 0;
  std::uint32_t remaining_ = 0;
  StreamType current_ = StreamType::stdout_;
};

}  // namespace dockform::engine
