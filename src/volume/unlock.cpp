#include "dockform/volume/unlock.hpp"

#include <spdlog/spdlog.h>

#include <sstream>

#include "dockform/volume/containers.hpp"

namespace dockform::volume {

namespace {
using names::kStoppedLabel;

std::optional<RecordInfo> inspect_record(engine::Engine& engine, const std::string& volume,
                                         std::optional<engine::json>& document) {
  document = engine.container_inspect(StoppedContainers::record_name(volume));
  if (!document) return std::nullopt;
  const auto& labels = (*document)["Config"]["Labels"];
  RecordInfo info;
  info.holder = holder_from_labels(labels);
  info.liveness = record_liveness(engine, *document);
  std::istringstream ids(labels.is_object() ? labels.value(kStoppedLabel, "") : "");
  for (std::string id; std::getline(ids, id, ',');) {
    auto container = id.empty() ? std::nullopt : engine.container_inspect(id);
    if (!container) continue;
    std::string name = container->value("Name", id);
    info.containers.push_back(name.starts_with('/') ? name.substr(1) : name);
  }
  return info;
}

// Rewrites the record with a lease no container has: its holder counts as
// gone, so the next run with --stop-containers starts the containers.
void release_record(engine::Engine& engine, const std::string& volume, const engine::json& record) {
  engine::json labels = record["Config"]["Labels"];
  labels[kLeaseLabel] = "released";
  engine::json config = {{"Image", record["Config"].value("Image", "")},
                         {"Cmd", {"true"}},
                         {"NetworkDisabled", true},
                         {"Labels", labels},
                         {"HostConfig", {{"NetworkMode", "none"}, {"LogConfig", {{"Type", "none"}}}}}};
  remove_and_wait(engine, record.value("Id", StoppedContainers::record_name(volume)));
  engine.container_create(config, StoppedContainers::record_name(volume));
}
}  // namespace

UnlockReport unlock_volume(engine::Engine& engine, const std::string& volume, bool force) {
  UnlockReport report;
  report.volume = volume;
  report.lock = VolumeLock::inspect(engine, volume);
  if (report.lock) {
    if (report.lock->liveness == Liveness::gone || force) {
      if (report.lock->liveness != Liveness::gone) {
        spdlog::warn("removing the lock on volume {} although its holder may still run ({})", volume,
                     describe(report.lock->holder));
      }
      remove_and_wait(engine, report.lock->container_id);
      report.lock_removed = true;
    } else {
      report.refused = true;
    }
  }
  for (auto& reader : list_readers(engine, volume)) {
    // A lease not started yet holds nothing (its snapshot looks at the lock once it runs).
    bool held = reader.liveness == Liveness::alive || reader.liveness == Liveness::unknown;
    bool remove = reader.liveness == Liveness::gone || force;
    if (remove && held) {
      spdlog::warn("removing the reader lease of a snapshot of volume {} although its holder may still run ({})",
                   volume, describe(reader.holder));
    }
    if (remove) remove_and_wait(engine, reader.container_id);
    report.refused = report.refused || (held && !remove);
    report.readers.push_back({std::move(reader), remove});
  }
  std::optional<engine::json> document;
  report.record = inspect_record(engine, volume, document);
  if (report.record && report.record->liveness != Liveness::gone) {
    if (force) {
      release_record(engine, volume, *document);
      report.record->released = true;
    } else {
      report.refused = true;
    }
  }
  return report;
}

}  // namespace dockform::volume
