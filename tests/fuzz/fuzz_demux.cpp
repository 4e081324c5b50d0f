// The attach stream demultiplexer: any bytes, fed whole or in small pieces,
// give the same stdout and stderr bytes and the same verdict.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dockform/engine/demux.hpp"
#include "dockform/util/error.hpp"

namespace {
struct Outcome {
  std::string out;
  std::string err;
  bool failed = false;
};

Outcome run(std::string_view input, std::size_t step) {
  Outcome outcome;
  dockform::engine::Demuxer demux([&](dockform::engine::StreamType type, std::string_view bytes) {
    (type == dockform::engine::StreamType::stderr_ ? outcome.err : outcome.out).append(bytes);
  });
  try {
    for (std::size_t i = 0; i < input.size(); i += step) demux.feed(input.substr(i, step));
  } catch (const dockform::Error&) {
    outcome.failed = true;
  }
  return outcome;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto whole = run(input, input.size() + 1);
  auto split = run(input, 3);
  if (whole.failed != split.failed) std::abort();
  if (!whole.failed && (whole.out != split.out || whole.err != split.err)) std::abort();
  return 0;
}
