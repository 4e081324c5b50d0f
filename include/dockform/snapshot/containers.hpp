#pragma once
// Containers that use a volume, and the scope guard that stops the running
// ones and starts exactly those again, on success, on error and on a signal.
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"

namespace dockform::snapshot {

// Users of the volume (running and stopped), dockform's own helpers excluded.
std::vector<engine::ContainerInfo> containers_using(engine::Engine& engine, const std::string& volume);

class StoppedContainers {
 public:
  explicit StoppedContainers(engine::Engine& engine) : engine_(engine) {}
  ~StoppedContainers();  // restarts whatever is still stopped
  StoppedContainers(const StoppedContainers&) = delete;
  StoppedContainers& operator=(const StoppedContainers&) = delete;

  // Stops the running ones among `users` (graceful, with a timeout).
  void stop(const std::vector<engine::ContainerInfo>& users);
  // Starts them again; returns the names started. Errors are logged, not thrown.
  std::vector<std::string> restart();
  const std::vector<std::string>& stopped_names() const { return names_; }

 private:
  engine::Engine& engine_;
  std::vector<std::string> ids_;
  std::vector<std::string> names_;
};

}  // namespace dockform::snapshot
