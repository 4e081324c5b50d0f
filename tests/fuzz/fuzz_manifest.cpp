// Manifest loading: any bytes give a Manifest or a dockform::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dockform/manifest/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SET") return std::string("value");
    if (name == "EMPTY") return std::string();
    return std::nullopt;
  };
  try {
    dockform::manifest::parse_manifest(text, "fuzz.yml", env);
  } catch (const dockform::Error&) {
  }
  return 0;
}
