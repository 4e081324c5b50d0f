#pragma once
// A snapshot of a volume that may be in use: hooks around it, and whole new
// tries when the helper's tar stopped at a file that changed under it.
#include <functional>

#include "dockform/ops/snapshot.hpp"

namespace dockform::ops {

// How many times a snapshot is tried when tar stops at a changing file.
inline constexpr int kSnapshotTries = 5;

// Runs the pre hooks, then `once` (tried again up to kSnapshotTries times on
// volume::TarStoppedByChange), then the post hooks, whatever happened.
SnapshotResult snapshot_with_hooks(engine::Engine& engine, const SnapshotOptions& options,
                                   const std::function<SnapshotResult()>& once);

}  // namespace dockform::ops
