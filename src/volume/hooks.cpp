#include "dockform/volume/hooks.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "dockform/engine/demux.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::volume {

namespace {
using Clock = std::chrono::steady_clock;
constexpr std::size_t kOutputLimit = 64 * 1024;

std::string label(const engine::ContainerInfo& container, const char* key) {
  auto found = container.labels.find(key);
  return found == container.labels.end() ? "" : found->second;
}

// The label's timeout, else the flag's, else the default; a bad label is reported.
int timeout_for(const engine::ContainerInfo& container, std::optional<int> flag, std::vector<std::string>& warnings) {
  int fallback = flag.value_or(kDefaultHookTimeout);
  std::string text = label(container, kHookTimeoutLabel);
  if (text.empty()) return fallback;
  try {
    std::size_t used = 0;
    int value = std::stoi(text, &used);
    if (used == text.size() && value > 0) return value;
  } catch (const std::exception&) {
  }
  warnings.push_back("container " + container.name + ": label " + kHookTimeoutLabel + "=" + text +
                     " is not a positive number of seconds; using " + std::to_string(fallback));
  spdlog::warn("{}", warnings.back());
  return fallback;
}

void log_output(const HookRun& run) {
  std::string text = trimmed(run.output);
  if (text.empty()) return;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    spdlog::info("{} hook ({}): {}", run.phase, run.container, text.substr(start, end - start));
    start = end + 1;
  }
}

// Reads the exec's output until it ends or the deadline passes.
// Pre hooks give way to Ctrl-C; post hooks also run during cleanup after one.
bool read_output(engine::RawConnection& connection, Clock::time_point deadline, bool interruptible,
                 std::string& output) {
  engine::Demuxer demux([&](engine::StreamType, std::string_view bytes) {
    if (output.size() < kOutputLimit) output.append(bytes.substr(0, kOutputLimit - output.size()));
  });
  char buffer[16384];
  while (Clock::now() < deadline) {
    if (interruptible) util::throw_if_interrupted();
    long n = connection.read_some(buffer, sizeof buffer, std::chrono::milliseconds(200));
    if (n == 0) return true;
    if (n > 0) demux.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
  return false;
}
}  // namespace

std::string HookRun::failure() const {
  std::string text = phase + " hook in container " + container;
  if (!error.empty()) return text + " could not run: " + error;
  text +=
      timed_out ? " timed out after " + std::to_string(timeout) + " s" : " exited with " + std::to_string(exit_code);
  std::string said = trimmed(output);
  return said.empty() ? text : text + ": " + said;
}

HookRun run_hook(engine::Engine& engine, const engine::ContainerInfo& container, const std::string& phase,
                 const std::string& command, int timeout_seconds) {
  HookRun run;
  run.container = container.name;
  run.phase = phase;
  run.command = command;
  run.timeout = timeout_seconds;
  auto started = Clock::now();
  spdlog::info("running {} hook in container {}: {}", phase, container.name, command);
  try {
    std::string exec_id = engine.exec_create(container.id, {"sh", "-c", command});
    auto connection = engine.exec_start(exec_id);
    auto deadline = started + std::chrono::seconds(timeout_seconds);
    run.timed_out = !read_output(*connection, deadline, phase == "pre", run.output);
    // The output ends a moment before the engine records the exit code.
    for (int i = 0; !run.timed_out && i < 50; ++i) {
      auto state = engine.exec_inspect(exec_id);
      run.exit_code = state.exit_code;
      if (!state.running) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const Error& e) {
    run.error = e.what();
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  log_output(run);
  return run;
}

SnapshotHooks::SnapshotHooks(engine::Engine& engine, const std::string& volume,
                             const std::vector<engine::ContainerInfo>& users, std::optional<int> default_timeout)
    : engine_(engine) {
  for (const auto& user : users) {
    Hooked hooked;
    hooked.container = user;
    hooked.pre = label(user, kPreHookLabel);
    hooked.post = label(user, kPostHookLabel);
    if (hooked.pre.empty() && hooked.post.empty()) continue;
    if (user.state != "running") {
      warnings_.push_back("container " + user.name + " (" + user.state + ") has snapshot hooks for volume " + volume +
                          " but does not run: its hooks are not run");
      spdlog::warn("{}", warnings_.back());
      continue;
    }
    hooked.timeout = timeout_for(user, default_timeout, warnings_);
    hooked_.push_back(std::move(hooked));
  }
}

HookRun SnapshotHooks::run(const Hooked& hooked, const std::string& phase, const std::string& command) {
  runs_.push_back(run_hook(engine_, hooked.container, phase, command, hooked.timeout));
  return runs_.back();
}

std::string SnapshotHooks::run_pre() {
  for (auto& hooked : hooked_) {
    if (hooked.pre.empty()) continue;
    hooked.pre_attempted = true;
    auto result = run(hooked, "pre", hooked.pre);
    if (!result.ok()) {
      pre_failed_ = true;
      return result.failure();
    }
  }
  return "";
}

std::string SnapshotHooks::run_post() {
  if (post_done_) return "";
  post_done_ = true;
  std::string failures;
  for (auto it = hooked_.rbegin(); it != hooked_.rend(); ++it) {
    // After a failed pre hook, containers whose pre hook never ran are left alone.
    bool due = it->pre_attempted || (it->pre.empty() && !pre_failed_);
    if (it->post.empty() || !due) continue;
    auto result = run(*it, "post", it->post);
    if (!result.ok()) failures += (failures.empty() ? "" : "; ") + result.failure();
  }
  return failures;
}

}  // namespace dockform::volume
