#include "dockform/ops/live.hpp"

#include <spdlog/spdlog.h>

#include "dockform/volume/containers.hpp"
#include "dockform/volume/helper_messages.hpp"
#include "dockform/volume/hooks.hpp"

namespace dockform::ops {

using volume::SnapshotHooks;

namespace {
constexpr std::size_t kWarningsShown = 10;

// The listed warnings go to --json; stderr gets the first few and a count.
// Past volume::kKeptWarnings the helper's last line counts the others.
void log_changes(const std::string& volume, const std::vector<std::string>& changes) {
  if (changes.empty()) return;
  bool counted = changes.size() > volume::kKeptWarnings;
  std::size_t listed = changes.size() - (counted ? 1 : 0);
  spdlog::warn("volume {}: {}{} warning(s) while it was read (each path is archived as first read, or skipped):",
               volume, counted ? "more than " : "", listed);
  for (std::size_t i = 0; i < listed && i < kWarningsShown; ++i) spdlog::warn("  {}", changes[i]);
  if (listed > kWarningsShown) {
    spdlog::warn("  ... and {} more (under \"warnings\" with --json)", listed - kWarningsShown);
  }
  if (counted) spdlog::warn("  {}", changes.back());
}

}  // namespace

SnapshotResult snapshot_with_hooks(engine::Engine& engine, const SnapshotOptions& options,
                                   const std::function<SnapshotResult()>& once) {
  auto users = volume::containers_using(engine, options.volume);
  SnapshotHooks hooks(engine, options.volume, users, options.hook_timeout);
  if (auto failure = hooks.run_pre(); !failure.empty()) {
    std::string post = hooks.run_post();
    throw Error("snapshot of volume " + options.volume + " not taken: " + failure +
                (post.empty() ? "" : "; then " + post));
  }
  SnapshotResult result;
  try {
    result = once();
    log_changes(options.volume, result.warnings);
  } catch (...) {
    // Like `finally`: what the pre hooks did (a lock, a paused writer) is undone.
    if (auto post = hooks.run_post(); !post.empty()) spdlog::error("{}", post);
    throw;
  }
  result.hook_error = hooks.run_post();
  if (!result.hook_error.empty()) spdlog::error("{} (the snapshot was written)", result.hook_error);
  result.hooks = hooks.runs();
  result.warnings.insert(result.warnings.begin(), hooks.warnings().begin(), hooks.warnings().end());
  return result;
}

}  // namespace dockform::ops
