#include "dockform/ops/live.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "dockform/util/signals.hpp"
#include "dockform/volume/containers.hpp"
#include "dockform/volume/hooks.hpp"
#include "dockform/volume/tar_messages.hpp"

namespace dockform::ops {

using volume::SnapshotHooks;
using volume::TarStoppedByChange;

namespace {
constexpr std::size_t kWarningsShown = 10;

void pause_before_retry(int seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    util::throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Every changed path goes to --json; stderr gets the first few and a count.
void log_changes(const std::string& volume, const std::vector<std::string>& changes) {
  if (changes.empty()) return;
  spdlog::warn("volume {}: {} path(s) changed while they were read (the snapshot holds what tar saw):", volume,
               changes.size());
  for (std::size_t i = 0; i < changes.size() && i < kWarningsShown; ++i) spdlog::warn("  {}", changes[i]);
  if (changes.size() > kWarningsShown) {
    spdlog::warn("  ... and {} more (all of them under \"warnings\" with --json)", changes.size() - kWarningsShown);
  }
}

SnapshotResult with_retries(const std::string& volume, const std::function<SnapshotResult()>& once) {
  std::vector<std::string> notes;
  for (int attempt = 1;; ++attempt) {
    try {
      auto result = once();
      log_changes(volume, result.warnings);
      result.warnings.insert(result.warnings.begin(), notes.begin(), notes.end());
      result.tries = attempt;
      return result;
    } catch (const TarStoppedByChange& stopped) {
      std::string text =
          "try " + std::to_string(attempt) + " of " + std::to_string(kSnapshotTries) + ": " + stopped.what();
      if (attempt == kSnapshotTries) {
        throw Error("snapshot of volume " + volume + " failed: all " + std::to_string(kSnapshotTries) +
                    " tries stopped at a file that changed while it was read (" + stopped.what() +
                    "); stop the writers (--stop-containers) or use a GNU tar helper image");
      }
      spdlog::warn("volume {}: {}; nothing was kept, trying the whole snapshot again", volume, text);
      notes.push_back(text);
      pause_before_retry(attempt);
    }
  }
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
    result = with_retries(options.volume, once);
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
