// Sidecar parsing: any bytes give a Sidecar or a dockform::Error; a parsed
// sidecar survives a round trip through its own text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dockform/archive/sidecar.hpp"
#include "dockform/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto sidecar = dockform::archive::parse_sidecar(text, "fuzz.json");
    auto again = dockform::archive::parse_sidecar(dockform::archive::sidecar_text(sidecar), "again.json");
    if (again.checksum != sidecar.checksum || again.volume_name != sidecar.volume_name) std::abort();
  } catch (const dockform::Error&) {
  }
  return 0;
}
