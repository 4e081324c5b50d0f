// Interpolation: any text gives a string or std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "dockform/manifest/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "A") return std::string("${B}");
    if (name == "EMPTY") return std::string();
    return std::nullopt;
  };
  try {
    dockform::manifest::interpolate(text, env);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
