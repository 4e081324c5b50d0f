#pragma once
// Containers that use a volume, and the scope guard that stops the running
// ones and starts exactly those again, on success, on error and on a signal.
//
// Before stopping anything the guard records the containers it is about to
// stop in a never-started container named dockform-stopped-<volume> (label
// io.dockform.stopped = their ids). A run killed before it could start them
// again leaves that record behind; the next snapshot or restore of the volume
// reports it, and with --stop-containers starts those containers too. The
// record names its holder and the id of the holder's lease (lease.hpp): the
// holder counts as gone once that lease no longer runs, whatever machine it
// ran on.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"
#include "dockform/volume/lease.hpp"

namespace dockform::volume {

// Users of the volume (running and stopped), dockform's own helpers excluded.
std::vector<engine::ContainerInfo> containers_using(engine::Engine& engine, const std::string& volume);

class StoppedContainers {
 public:
  // `image` is used for the record container (it is never started).
  StoppedContainers(engine::Engine& engine, std::string volume, HelperImage image);
  ~StoppedContainers();  // starts whatever is still stopped
  StoppedContainers(const StoppedContainers&) = delete;
  StoppedContainers& operator=(const StoppedContainers&) = delete;

  // Looks for a record left by an interrupted run and warns about it. With
  // `adopt`, those containers are started again with ours at the end.
  // Returns the names found.
  std::vector<std::string> recover_interrupted(bool adopt);
  // Stops the running ones among `users` (graceful: the engine waits for each
  // container's own stop timeout, or for the one set here, then kills).
  void stop(const std::vector<engine::ContainerInfo>& users);
  void set_stop_timeout(std::optional<int> seconds) { stop_timeout_ = seconds; }
  // Starts them again; returns the names started. Errors are logged, not thrown.
  std::vector<std::string> restart();
  const std::vector<std::string>& stopped_names() const { return names_; }
  // Leaves them stopped (their volume may be half-swapped): the record stays,
  // and the next run with --stop-containers starts them once it has finished
  // the swap.
  void leave_stopped() { ids_.clear(); }

  static std::string record_name(const std::string& volume) { return "dockform-stopped-" + volume; }

 private:
  void write_record();
  engine::Engine& engine_;
  std::string volume_;
  HelperImage image_;
  std::vector<std::string> ids_;
  std::vector<std::string> names_;
  bool record_written_ = false;
  std::optional<int> stop_timeout_;
  std::unique_ptr<Lease> lease_;  // declared last: released after the record is gone
};

}  // namespace dockform::volume
