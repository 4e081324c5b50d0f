#pragma once
// `volume copy`: a snapshot of a volume on one engine restored into a volume
// on another, in one streaming pass through a pipe inside this process: no
// file, no second copy. The restore's rules hold on the target (all or
// nothing, --force, --stop-containers), and the snapshot's SHA-256 and counts
// are compared before the swap.
#include <optional>
#include <string>

#include "dockform/engine/docker.hpp"
#include "dockform/ops/restore.hpp"
#include "dockform/ops/snapshot.hpp"

namespace dockform::ops {

struct CopyOptions {
  std::string volume;         // on the source engine
  std::string target_volume;  // on the target engine (--as; default: the same name)
  bool force = false;
  bool stop_containers = false;  // on both sides: the source's users for the read, the target's for the swap
  std::optional<int> stop_timeout;
  bool no_privileged_bits = false;  // as for a restore: setuid/setgid, capabilities, devices dropped
  int level = 3;
  std::string helper_image;  // empty: the built-in one, on each engine
};

struct CopyResult {
  SnapshotResult snapshot;
  RestoreResult restore;
  bool created = false;  // the target volume did not exist and was made like the source's
  double seconds = 0;
};

CopyResult copy_volume(engine::Engine& source, engine::Engine& target, const CopyOptions& options);

}  // namespace dockform::ops
