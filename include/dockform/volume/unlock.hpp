#pragma once
// `volume unlock`: shows who holds a volume's lock, the snapshots' reader
// leases and its stopped-containers record, removes a lock or reader lease
// whose holder is gone, and, only when forced, one whose holder may still run
// (forcing a record hands it to the next run).
#include <optional>
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"
#include "dockform/volume/read_lease.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::volume {

struct RecordInfo {
  std::vector<std::string> containers;  // names of the stopped containers that still exist
  Holder holder;
  Liveness liveness = Liveness::unknown;
  bool released = false;  // handed over: the next --stop-containers run adopts it
};

struct UnlockedReader {
  ReaderInfo reader;
  bool removed = false;
};

struct UnlockReport {
  std::string volume;
  std::optional<LockInfo> lock;
  bool lock_removed = false;
  std::vector<UnlockedReader> readers;  // snapshots' reader leases
  std::optional<RecordInfo> record;
  // Something may be held by a live run and force was not given: nothing of it was changed.
  bool refused = false;
};

UnlockReport unlock_volume(engine::Engine& engine, const std::string& volume, bool force);

}  // namespace dockform::volume
