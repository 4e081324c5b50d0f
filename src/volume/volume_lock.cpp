#include "dockform/volume/volume_lock.hpp"

#include <spdlog/spdlog.h>

#include "dockform/util/process.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::volume {

namespace {
constexpr const char* kLockLabel = "io.dockform.lock";

// The owner recorded on an existing lock, or "" when there is none.
std::optional<std::string> lock_owner(engine::Engine& engine, const std::string& volume) {
  auto found = engine.container_inspect(VolumeLock::container_name(volume));
  if (!found) return std::nullopt;
  const auto& labels = (*found)["Config"]["Labels"];
  if (labels.is_object() && labels.contains(kOwnerLabel)) return labels[kOwnerLabel].get<std::string>();
  return std::string();
}

[[noreturn]] void refuse(const std::string& volume, const std::string& owner) {
  throw Error("volume " + volume + " is being restored by another dockform run (" + owner +
                  "); try again when it has finished",
              Exit::refused);
}
}  // namespace

VolumeLock::VolumeLock(engine::Engine& engine, const std::string& image, const std::string& volume)
    : engine_(engine) {
  engine::json config = {{"Image", image},
                         {"Cmd", {"true"}},
                         {"NetworkDisabled", true},
                         {"Labels", {{kLockLabel, volume}, {kOwnerLabel, util::my_owner_identity()}}},
                         {"HostConfig", {{"NetworkMode", "none"}, {"LogConfig", {{"Type", "none"}}}}}};
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      id_ = engine_.container_create(config, container_name(volume));
      return;
    } catch (const engine::EngineError& e) {
      if (e.status() != 409) throw;
    }
    auto owner = lock_owner(engine_, volume);
    if (!owner) continue;  // released meanwhile
    if (!owner->empty() && !util::owner_is_gone(*owner)) refuse(volume, *owner);
    spdlog::warn("taking over the lock on volume {} left by an interrupted run", volume);
    engine_.container_remove(container_name(volume));
  }
  throw Error("could not lock volume " + volume + " (lock container " + container_name(volume) + ")");
}

VolumeLock::~VolumeLock() {
  try {
    engine_.container_remove(id_);
  } catch (const std::exception& e) {
    spdlog::warn("could not release the lock on a volume: {} (the next run takes it over)", e.what());
  }
}

void VolumeLock::refuse_if_held(engine::Engine& engine, const std::string& volume) {
  auto owner = lock_owner(engine, volume);
  if (owner && !owner->empty() && !util::owner_is_gone(*owner)) refuse(volume, *owner);
}

}  // namespace dockform::volume
