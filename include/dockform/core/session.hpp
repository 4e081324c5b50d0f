#pragma once
// What every command starts from: the manifest and, when needed, the engine
// it names. Opened lazily so `validate` and `version` work without an engine.
#include <memory>
#include <string>

#include "dockform/engine/docker.hpp"
#include "dockform/manifest/manifest.hpp"

namespace dockform::core {

struct GlobalOptions {
  std::string config;        // -c/--config
  std::string helper_image;  // --helper-image
};

class Session {
 public:
  explicit Session(GlobalOptions options) : options_(std::move(options)) {}

  const manifest::Manifest& manifest();
  engine::Engine& engine();
  engine::Endpoint endpoint();
  // --helper-image, then DOCKFORM_HELPER_IMAGE, then docker.helper_image;
  // "" for none: the built-in helper image (volume/helper_image.hpp).
  std::string helper_image();
  const GlobalOptions& options() const { return options_; }

 private:
  GlobalOptions options_;
  std::unique_ptr<manifest::Manifest> manifest_;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace dockform::core
