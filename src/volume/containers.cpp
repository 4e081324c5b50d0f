#include "dockform/volume/containers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "dockform/util/process.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::volume {

namespace {
using names::kStoppedLabel;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}
}  // namespace

std::vector<engine::ContainerInfo> containers_using(engine::Engine& engine, const std::string& volume) {
  std::vector<engine::ContainerInfo> users;
  for (auto& container : engine.container_list(true, {{"volume", {volume}}})) {
    if (container.labels.count(kHelperLabel)) continue;
    users.push_back(std::move(container));
  }
  return users;
}

StoppedContainers::StoppedContainers(engine::Engine& engine, std::string volume, HelperImage image)
    : engine_(engine), volume_(std::move(volume)), image_(std::move(image)) {}

std::vector<std::string> StoppedContainers::recover_interrupted(bool adopt) {
  auto record = engine_.container_inspect(record_name(volume_));
  if (!record) return {};
  const auto& labels = (*record)["Config"]["Labels"];
  if (record_liveness(engine_, *record) != Liveness::gone) {
    refuse_held("containers using volume " + volume_ + " are stopped by another dockform run", volume_,
                holder_from_labels(labels));
  }
  std::vector<std::string> names;
  std::vector<std::string> ids;
  for (const auto& id : split(labels.is_object() ? labels.value(kStoppedLabel, "") : "")) {
    auto container = engine_.container_inspect(id);
    if (!container) continue;  // removed since
    std::string name = container->value("Name", id);
    if (!name.empty() && name[0] == '/') name.erase(0, 1);
    names.push_back(name);
    ids.push_back(container->value("Id", id));  // the full id, as containers_using gives it
  }
  std::string list = names.empty() ? "none left" : join(names);
  if (!adopt) {
    spdlog::warn(
        "containers stopped by an interrupted dockform run are still stopped: {} "
        "(start them with `docker start`, or pass --stop-containers to have dockform start them)",
        list);
    return names;
  }
  spdlog::warn("containers stopped by an interrupted dockform run: {}; they are started again at the end", list);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  names_.insert(names_.end(), names.begin(), names.end());
  engine_.container_remove(record_name(volume_));
  write_record();
  return names;
}

void StoppedContainers::write_record() {
  if (record_written_) engine_.container_remove(record_name(volume_));
  record_written_ = false;
  if (ids_.empty()) return;
  // The lease proves us alive to any run, on any machine, while the record exists.
  if (!lease_) lease_ = std::make_unique<Lease>(engine_, image_, "", my_holder_labels());
  engine::Labels labels = my_holder_labels();
  labels[kStoppedLabel] = join(ids_);
  labels[kLeaseLabel] = lease_->id();
  engine::json config = {{"Image", image_.name},
                         {"Cmd", {"true"}},
                         {"NetworkDisabled", true},
                         {"Labels", labels},
                         {"HostConfig", {{"NetworkMode", "none"}, {"LogConfig", {{"Type", "none"}}}}}};
  try {
    engine_.container_create(config, record_name(volume_));
  } catch (const engine::EngineError& e) {
    if (e.status() == 409) {
      throw Error("containers using volume " + volume_ + " are being stopped by another dockform run", Exit::refused);
    }
    throw;
  }
  record_written_ = true;
}

void StoppedContainers::stop(const std::vector<engine::ContainerInfo>& users) {
  std::vector<const engine::ContainerInfo*> running;
  for (const auto& user : users) {
    if (user.running()) running.push_back(&user);
  }
  if (running.empty()) return;
  // Recorded first: a run killed from here on leaves a trace for the next one.
  // A container adopted from an interrupted run's record may be running again
  // (started by hand, or still in its stop): it is stopped, but listed and
  // started once.
  bool added = false;
  for (const auto* user : running) {
    if (std::find(ids_.begin(), ids_.end(), user->id) != ids_.end()) continue;
    ids_.push_back(user->id);
    names_.push_back(user->name);
    added = true;
  }
  if (added) write_record();
  for (const auto* user : running) {
    spdlog::info("stopping container {}", user->name);
    engine_.container_stop(user->id, stop_timeout_);
  }
}

std::vector<std::string> StoppedContainers::restart() {
  std::vector<std::string> started;
  bool all_started = true;
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    try {
      engine_.container_start(ids_[i]);
      spdlog::info("started container {} again", names_[i]);
      started.push_back(names_[i]);
    } catch (const std::exception& e) {
      all_started = false;
      spdlog::error("could not start container {} again: {}", names_[i], e.what());
    }
  }
  ids_.clear();
  // A record of containers we failed to start stays, so the next run reports them.
  if (record_written_ && all_started) {
    try {
      engine_.container_remove(record_name(volume_));
      record_written_ = false;
    } catch (const std::exception& e) {
      spdlog::warn("could not remove {}: {}", record_name(volume_), e.what());
    }
  }
  return started;
}

StoppedContainers::~StoppedContainers() {
  if (!ids_.empty()) restart();
}

}  // namespace dockform::volume
