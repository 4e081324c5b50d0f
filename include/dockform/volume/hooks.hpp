#pragma once
// Snapshot hooks: shell commands that containers using a volume declare in
// their labels, run inside them (Engine exec, `sh -c`, the container's own
// user) before and after a snapshot of the volume:
//   io.dockform.snapshot.pre      before the helper starts (and before --stop-containers stops it)
//   io.dockform.snapshot.post     after the snapshot (and after the container was started again)
//   io.dockform.snapshot.timeout  seconds each of its hooks may take
#include <optional>
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"
#include "dockform/util/names.hpp"

namespace dockform::volume {

using names::kHookTimeoutLabel;
using names::kPostHookLabel;
using names::kPreHookLabel;
inline constexpr int kDefaultHookTimeout = 300;

struct HookRun {
  std::string container;
  std::string phase;  // "pre" or "post"
  std::string command;
  int exit_code = -1;
  bool timed_out = false;
  int timeout = 0;     // seconds it was given
  std::string output;  // stdout and stderr, interleaved as they came
  std::string error;   // the engine refused the exec (e.g. the container stopped)
  double seconds = 0;
  bool ok() const { return exit_code == 0 && !timed_out && error.empty(); }
  // "pre hook in container db exited with 3: <output>"
  std::string failure() const;
};

// Runs one command in a running container; waits at most `timeout_seconds`
// (the command is not ended then: the Engine API has no call for that).
HookRun run_hook(engine::Engine& engine, const engine::ContainerInfo& container, const std::string& phase,
                 const std::string& command, int timeout_seconds);

// The hooks of one volume's users, run in order around one snapshot: pre
// hooks in the users' order, post hooks in reverse, like nested `finally`s.
class SnapshotHooks {
 public:
  // `default_timeout`: for containers without the timeout label.
  SnapshotHooks(engine::Engine& engine, const std::string& volume, const std::vector<engine::ContainerInfo>& users,
                std::optional<int> default_timeout);

  // Runs the pre hooks, stopping at the first failure; returns its
  // description, empty when all passed.
  std::string run_pre();
  // Runs the post hooks that are due: every container whose pre hook ran
  // (failed or not) or that has none. Runs them once; returns the failures.
  std::string run_post();

  const std::vector<HookRun>& runs() const { return runs_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Hooked {
    engine::ContainerInfo container;
    std::string pre;
    std::string post;
    int timeout = kDefaultHookTimeout;
    bool pre_attempted = false;
  };
  HookRun run(const Hooked& hooked, const std::string& phase, const std::string& command);
  engine::Engine& engine_;
  std::vector<Hooked> hooked_;
  std::vector<HookRun> runs_;
  std::vector<std::string> warnings_;
  bool pre_failed_ = false;
  bool post_done_ = false;
};

}  // namespace dockform::volume
