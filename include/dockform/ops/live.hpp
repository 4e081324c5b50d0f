#pragma once
// A snapshot of a volume that may be in use: hooks around it, and the paths
// that changed while they were read reported as warnings (the helper
// archives them as it first saw them, in one pass).
#include <functional>

#include "dockform/ops/snapshot.hpp"

namespace dockform::ops {

// Runs the pre hooks, then `once`, then the post hooks, whatever happened.
SnapshotResult snapshot_with_hooks(engine::Engine& engine, const SnapshotOptions& options,
                                   const std::function<SnapshotResult()>& once);

}  // namespace dockform::ops
