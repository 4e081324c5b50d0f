#include "dockform/core/session.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace dockform::core {

const manifest::Manifest& Session::manifest() {
  if (!manifest_) {
    auto file = manifest::find_manifest(options_.config);
    manifest_ = std::make_unique<manifest::Manifest>(manifest::load_manifest(file));
  }
  return *manifest_;
}

engine::Endpoint Session::endpoint() {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  // Without docker.context (or outside a project, for `version`): the engine
  // plain `docker` would use; with it, the one `docker --context NAME` would.
  std::string context;
  try {
    if (manifest().context_given) context = manifest().context;
  } catch (const manifest::ManifestError& e) {
    if (!options_.config.empty()) throw;
    // No manifest here (a command outside a project): the default engine serves.
    spdlog::debug("no docker.context from a manifest: {}", e.what());
  }
  auto endpoint = engine::resolve_endpoint(context, env);
  if (context == "default") endpoint.source = "manifest docker.context default (" + endpoint.source + ")";
  if (!context.empty() && context != "default") endpoint.source = "manifest docker.context " + context;
  return endpoint;
}

engine::Engine& Session::engine() {
  if (!engine_) engine_ = engine::Engine::connect(endpoint());
  return *engine_;
}

std::string Session::helper_image() {
  if (!options_.helper_image.empty()) return options_.helper_image;
  if (const char* env = std::getenv("DOCKFORM_HELPER_IMAGE"); env != nullptr && *env != '\0') return env;
  if (manifest().helper_image && !manifest().helper_image->empty()) return *manifest().helper_image;
  return "";
}

}  // namespace dockform::core
