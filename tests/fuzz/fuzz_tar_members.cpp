// The tar walk and member safety checks restore and verify rely on: any byte
// stream ends in members, a clean end, or a dockform::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dockform/archive/tar_walker.hpp"
#include "dockform/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Serve the input in uneven blocks, as a pipe would.
  std::size_t offset = 0;
  std::size_t block = 1 + size % 700;
  auto source = [&]() -> std::string_view {
    auto piece = input.substr(offset, block);
    offset += piece.size();
    return piece;
  };
  try {
    dockform::archive::TarWalker walker(source);
    dockform::archive::MemberSafety safety;
    while (auto entry =
               walker.next([&](const dockform::archive::TarEntry& e, std::int64_t) { (void)safety.check(e); })) {
    }
  } catch (const dockform::Error&) {
  }
  return 0;
}
