#include "dockform/volume/helper.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>

#include "dockform/engine/demux.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/process.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::volume {

HelperSpec volume_helper_spec(const HelperImage& image, const std::string& volume, std::vector<std::string> args,
                              std::vector<std::string> capabilities, bool read_only) {
  HelperSpec spec;
  spec.image = image;
  spec.volume = volume;
  spec.mount_point = kVolumeMountPoint;
  spec.read_only = read_only;
  spec.args = std::move(args);
  spec.capabilities = std::move(capabilities);
  return spec;
}

HelperSpec archive_helper_spec(const HelperImage& image, const std::string& volume,
                               const std::vector<std::string>& excludes, bool estimate) {
  std::vector<std::string> args = {"snapshot", kVolumeMountPoint};
  for (const auto& pattern : excludes) args.push_back("--exclude=" + pattern);
  if (estimate) args.emplace_back("--estimate");
  // Root must read files whatever their modes; trusted.* attributes are
  // readable with SYS_ADMIN only. The helper runs nothing but its walk.
  return volume_helper_spec(image, volume, std::move(args), {"DAC_READ_SEARCH", "DAC_OVERRIDE", "SYS_ADMIN"}, true);
}

HelperContainer::HelperContainer(engine::Engine& engine, const HelperSpec& spec)
    : engine_(engine), with_stdin_(spec.with_stdin) {
  engine::json caps = engine::json::array();
  for (const auto& cap : spec.capabilities) caps.push_back(cap);
  engine::json binds = {spec.volume + ":" + spec.mount_point + (spec.read_only ? ":ro" : "")};
  if (!spec.channel_bind.empty()) binds.push_back(spec.channel_bind);
  engine::json config = {
      {"User", "0:0"},
      {"WorkingDir", "/"},
      {"AttachStdout", true},
      {"AttachStderr", true},
      {"AttachStdin", spec.with_stdin},
      {"OpenStdin", spec.with_stdin},
      {"StdinOnce", spec.with_stdin},
      {"Tty", false},
      {"NetworkDisabled", true},
      {"Labels", {{kHelperLabel, "1"}, {kOwnerLabel, util::my_owner_identity()}, {kVolumeLabel, spec.volume}}},
      {"HostConfig",
       {{"Binds", binds},
        {"NetworkMode", "none"},
        // The default json-file driver would copy the whole stream into the daemon's log.
        {"LogConfig", {{"Type", "none"}, {"Config", engine::json::object()}}},
        {"CapDrop", {"ALL"}},
        {"CapAdd", caps},
        {"SecurityOpt", {"no-new-privileges"}},
        {"Privileged", false}}}};
  id_ = create_helper_container(engine_, spec.image, std::move(config), spec.args);
  spdlog::debug("helper container {} created for volume {}", id_.substr(0, 12), spec.volume);
}

HelperContainer::~HelperContainer() {
  connection_.reset();
  try {
    engine_.container_remove(id_);
    spdlog::debug("helper container {} removed", id_.substr(0, 12));
  } catch (const std::exception& e) {
    spdlog::warn("could not remove helper container {}: {} (the next run removes it)", id_.substr(0, 12), e.what());
  }
}

engine::RawConnection& HelperContainer::attach_and_start() {
  connection_ = engine_.container_attach(id_, with_stdin_);
  engine_.container_start(id_);
  return *connection_;
}

int HelperContainer::wait(bool interruptible) { return engine_.container_wait(id_, kEndLimit, interruptible); }

void HelperContainer::kill() {
  // The engine does not finish a kill while the attach connection is open
  // but unread (the container's output cannot drain): close it first.
  connection_.reset();
  try {
    engine_.container_kill(id_);
  } catch (const std::exception& e) {
    spdlog::debug("kill helper {}: {}", id_.substr(0, 12), e.what());
  }
}

// Helpers of every volume: a helper whose owner is proved gone serves no one.
// An owner that may still run (another machine, another PID namespace) keeps
// its helpers; only a run that takes over a volume's lock ends that volume's
// writers (VolumeLock).
void remove_stale_helpers(engine::Engine& engine) {
  for (const auto& container : engine.container_list(true, {{"label", {kHelperLabel}}})) {
    auto owner = container.labels.find(kOwnerLabel);
    if (owner == container.labels.end() || !util::owner_is_gone(owner->second)) continue;
    spdlog::warn("removing helper container {} left behind by an interrupted run", container.id.substr(0, 12));
    engine.container_remove(container.id);
  }
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

HelperResult run_helper(engine::Engine& engine, const HelperSpec& spec) {
  HelperSpec control = spec;
  control.with_stdin = false;
  HelperContainer helper(engine, control);
  auto& connection = helper.attach_and_start();
  connection.close_write();
  HelperResult result;
  engine::Demuxer demux([&](engine::StreamType type, std::string_view bytes) {
    if (type == engine::StreamType::stderr_) return result.err.feed(bytes);
    if (result.out.size() < (1u << 20)) result.out.append(bytes);
  });
  char buffer[65536];
  // Control runs are short and also run during cleanup after a signal: they
  // are not interruptible. Some touch every entry of a volume (removing a
  // staging folder), hence the long limit; one that exceeds it hangs, and is
  // removed (killed) with its container.
  constexpr auto kLimit = std::chrono::minutes(30);
  const auto deadline = std::chrono::steady_clock::now() + kLimit;
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("the helper (" + (spec.args.empty() ? std::string("?") : spec.args.front()) + " in volume " +
                  spec.volume + ") did not finish within " + std::to_string(kLimit.count()) + " min");
    }
    long n = connection.read_some(buffer, sizeof buffer, std::chrono::milliseconds(200));
    if (n == 0) break;
    if (n > 0) demux.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
  result.exit_code = helper.wait(false);
  return result;
}

}  // namespace dockform::volume
