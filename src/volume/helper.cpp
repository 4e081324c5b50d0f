#include "dockform/volume/helper.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "dockform/engine/demux.hpp"
#include "dockform/util/process.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::volume {

namespace {
// GNU tar keeps xattrs and ACLs; its exit code 1 only means a file changed
// while it was read (the volume is in use), which we report as a warning.
// Any other tar (busybox) gets the portable flags. What a killed restore left
// at the root (staging.hpp) stops it before any byte: the snapshot then
// recovers and runs again. Checking here saves a helper run per snapshot.
constexpr const char* kArchiveScript = R"sh(cd /volume || exit 111
for e in .dockform-restore-* .dockform-old-* .dockform-swap-*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  echo "dockform-leftover=$e" >&2; exit 113
done
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  exec tar --create --file=- --format=posix --pax-option=delete=atime,delete=ctime \
      --numeric-owner --acls --xattrs --xattrs-include='*' .
fi
exec tar -cf - .
)sh";

// Ends a progress line on the terminal, also when the pull is interrupted.
struct ClearPullLine {
  ~ClearPullLine() {
    if (util::Progress::enabled_for_stderr()) std::fprintf(stderr, "\r\033[K");
  }
};
}  // namespace

HelperSpec volume_helper_spec(const std::string& image, const std::string& volume, std::string script,
                              std::vector<std::string> capabilities, bool read_only) {
  HelperSpec spec;
  spec.image = image;
  spec.volume = volume;
  spec.mount_point = kVolumeMountPoint;
  spec.read_only = read_only;
  spec.script = std::move(script);
  spec.capabilities = std::move(capabilities);
  return spec;
}

HelperSpec archive_helper_spec(const std::string& image, const std::string& volume) {
  // Root must read files whatever their modes; nothing else is needed.
  return volume_helper_spec(image, volume, kArchiveScript, {"DAC_READ_SEARCH", "DAC_OVERRIDE"}, true);
}

HelperContainer::HelperContainer(engine::Engine& engine, const HelperSpec& spec)
    : engine_(engine), with_stdin_(spec.with_stdin) {
  engine::json caps = engine::json::array();
  for (const auto& cap : spec.capabilities) caps.push_back(cap);
  engine::json config = {
      {"Image", spec.image},
      {"Cmd", {"/bin/sh", "-c", spec.script}},
      {"User", "0:0"},
      {"WorkingDir", "/"},
      {"AttachStdout", true},
      {"AttachStderr", true},
      {"AttachStdin", spec.with_stdin},
      {"OpenStdin", spec.with_stdin},
      {"StdinOnce", spec.with_stdin},
      {"Tty", false},
      {"NetworkDisabled", true},
      {"Labels", {{kHelperLabel, "1"}, {kOwnerLabel, util::my_owner_identity()}, {"io.dockform.volume", spec.volume}}},
      {"HostConfig",
       {{"Binds", {spec.volume + ":" + spec.mount_point + (spec.read_only ? ":ro" : "")}},
        {"NetworkMode", "none"},
        // The default json-file driver would copy the whole stream into the daemon's log.
        {"LogConfig", {{"Type", "none"}, {"Config", engine::json::object()}}},
        {"CapDrop", {"ALL"}},
        {"CapAdd", caps},
        {"SecurityOpt", {"no-new-privileges"}},
        {"Privileged", false}}}};
  id_ = engine_.container_create(config);
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

int HelperContainer::wait() { return engine_.container_wait(id_); }

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

void ensure_helper_image(engine::Engine& engine, const std::string& image) {
  if (engine.image_exists(image)) return;
  spdlog::info("pulling helper image {}", image);
  util::Progress progress("pull " + image, std::nullopt);
  try {
    ClearPullLine clear;
    std::string last;
    engine.image_pull(image, [&](const std::string& status) {
      if (util::Progress::enabled_for_stderr()) {
        std::fprintf(stderr, "\r\033[Kpull %s: %s", image.c_str(), status.c_str());
      } else if (status != last && status.find("Download") == std::string::npos) {
        spdlog::debug("pull {}: {}", image, status);
      }
      last = status;
    });
  } catch (const Error& e) {
    throw Error("helper image " + image + " is not available and could not be pulled (" + e.what() +
                "); choose another with --helper-image, DOCKFORM_HELPER_IMAGE or docker.helper_image in the manifest");
  }
  if (!engine.image_exists(image)) {
    throw Error("helper image " + image +
                " is still missing after a pull; choose another with --helper-image, "
                "DOCKFORM_HELPER_IMAGE or docker.helper_image in the manifest");
  }
}

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
    auto& target = type == engine::StreamType::stderr_ ? result.err : result.out;
    if (target.size() < (1u << 20)) target.append(bytes);
  });
  char buffer[65536];
  // Control scripts are short and also run during cleanup after a signal:
  // they are not interruptible.
  for (;;) {
    long n = connection.read_some(buffer, sizeof buffer, std::chrono::milliseconds(200));
    if (n == 0) break;
    if (n > 0) demux.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
  result.exit_code = helper.wait();
  return result;
}

}  // namespace dockform::volume
