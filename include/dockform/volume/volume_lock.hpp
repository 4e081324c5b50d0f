#pragma once
// One restore per volume at a time, across processes and machines that share
// the engine: the lock is a created (never started) container with a fixed
// name, which the engine lets exist only once. A lock whose owner process is
// gone (killed run) is taken over.
#include <string>

#include "dockform/engine/docker.hpp"

namespace dockform::volume {

class VolumeLock {
 public:
  // Throws Error(Exit::refused) while another live dockform run holds it.
  VolumeLock(engine::Engine& engine, const std::string& image, const std::string& volume);
  ~VolumeLock();
  VolumeLock(const VolumeLock&) = delete;
  VolumeLock& operator=(const VolumeLock&) = delete;

  static std::string container_name(const std::string& volume) { return "dockform-lock-" + volume; }
  // Refuses (Exit::refused) when a live run holds the volume's lock.
  static void refuse_if_held(engine::Engine& engine, const std::string& volume);

 private:
  engine::Engine& engine_;
  std::string id_;
};

}  // namespace dockform::volume
