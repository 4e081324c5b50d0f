#include "dockform/engine/product.hpp"

namespace dockform::engine {

namespace {
// object[key] when it is a string; "" otherwise (the daemon's JSON is not trusted).
std::string string_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}
}  // namespace

std::string product_name(const nlohmann::json& version) {
  if (!version.is_object()) return "unknown engine";
  // Docker's own packages put the product in Platform.Name ("Docker Engine -
  // Community"); Podman puts os/arch/distribution there ("linux/amd64/debian-12").
  if (auto platform = version.find("Platform"); platform != version.end()) {
    std::string name = string_at(*platform, "Name");
    if (!name.empty() && name.find('/') == std::string::npos) return name;
  }
  // Otherwise the engine component: "Engine" for dockerd, "Podman Engine" for Podman.
  auto components = version.find("Components");
  if (components != version.end() && components->is_array()) {
    for (const auto& component : *components) {
      std::string name = string_at(component, "Name");
      if (name == "Engine") return "Docker Engine";
      if (name.find("Engine") != std::string::npos) return name;
    }
  }
  return "unknown engine";
}

}  // namespace dockform::engine
