#include "dockform/snapshot/containers.hpp"

#include <spdlog/spdlog.h>

#include "dockform/snapshot/helper.hpp"

namespace dockform::snapshot {

std::vector<engine::ContainerInfo> containers_using(engine::Engine& engine, const std::string& volume) {
  std::vector<engine::ContainerInfo> users;
  for (auto& container : engine.container_list(true, {{"volume", {volume}}})) {
    if (container.labels.count(kHelperLabel)) continue;
    users.push_back(std::move(container));
  }
  return users;
}

void StoppedContainers::stop(const std::vector<engine::ContainerInfo>& users) {
  for (const auto& user : users) {
    if (!user.running()) continue;
    spdlog::info("stopping container {}", user.name);
    engine_.container_stop(user.id, 30);
    ids_.push_back(user.id);
    names_.push_back(user.name);
  }
}

std::vector<std::string> StoppedContainers::restart() {
  std::vector<std::string> started;
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    try {
      engine_.container_start(ids_[i]);
      spdlog::info("started container {} again", names_[i]);
      started.push_back(names_[i]);
    } catch (const std::exception& e) {
      spdlog::error("could not restart container {}: {}", names_[i], e.what());
    }
  }
  ids_.clear();
  return started;
}

StoppedContainers::~StoppedContainers() { restart(); }

}  // namespace dockform::snapshot
