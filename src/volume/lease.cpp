#include "dockform/volume/lease.hpp"

#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <ctime>

#include "dockform/util/process.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::volume {

namespace {
bool on_this_boot(const std::string& owner) {
  auto colon = owner.find(':');
  return colon != std::string::npos && owner.substr(0, colon) == util::boot_id();
}

std::string label_value(const engine::json& labels, const char* name) {
  if (!labels.is_object() || !labels.contains(name) || !labels[name].is_string()) return "";
  return labels[name].get<std::string>();
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string my_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

const engine::json& labels_of(const engine::json& container) {
  static const engine::json none = engine::json::object();
  if (!container.contains("Config") || !container["Config"].contains("Labels")) return none;
  const auto& labels = container["Config"]["Labels"];
  return labels.is_object() ? labels : none;
}

// Owner on this machine whose process is gone: proved gone, whatever the engine says.
bool fast_path_gone(const Holder& holder) { return !holder.owner.empty() && util::owner_is_gone(holder.owner); }

// Without a lease (written by dockform 0.6): only this machine's owners can be judged.
Liveness legacy_liveness(const Holder& holder) {
  if (holder.owner.empty()) return Liveness::gone;
  return on_this_boot(holder.owner) ? Liveness::alive : Liveness::unknown;
}
}  // namespace

Holder holder_from_labels(const engine::json& labels) {
  Holder holder;
  holder.owner = label_value(labels, kOwnerLabel);
  holder.host = label_value(labels, kHostLabel);
  holder.since = label_value(labels, kSinceLabel);
  std::string pid = label_value(labels, kPidLabel);
  if (pid.empty()) {
    // boot id:pid:start
    auto first = holder.owner.find(':');
    if (first != std::string::npos) pid = holder.owner.substr(first + 1);
  }
  holder.pid = std::strtol(pid.c_str(), nullptr, 10);
  return holder;
}

std::string describe(const Holder& holder) {
  std::string text = "dockform pid " + (holder.pid > 0 ? std::to_string(holder.pid) : std::string("?"));
  if (!holder.host.empty()) {
    text += " on host " + holder.host;
  } else if (!holder.owner.empty()) {
    text += " on " + std::string(on_this_boot(holder.owner) ? "this machine" : "another machine or boot") + " (owner " +
            holder.owner + ")";
  }
  if (!holder.since.empty()) text += " since " + holder.since;
  return text;
}

const char* liveness_name(Liveness liveness) {
  switch (liveness) {
    case Liveness::alive: return "alive";
    case Liveness::starting: return "starting";
    case Liveness::gone: return "gone";
    case Liveness::unknown: return "unknown";
  }
  return "unknown";
}

Liveness lease_liveness(const engine::json& container) {
  const auto& labels = labels_of(container);
  Holder holder = holder_from_labels(labels);
  if (fast_path_gone(holder)) return Liveness::gone;
  if (!labels.contains(kLeaseLabel)) return legacy_liveness(holder);
  std::string status = container.contains("State") ? container["State"].value("Status", "") : "";
  if (status == "running" || status == "paused" || status == "restarting") return Liveness::alive;
  if (status == "created") return Liveness::starting;
  return Liveness::gone;  // exited, dead, removing: the lease ended
}

Liveness record_liveness(engine::Engine& engine, const engine::json& record) {
  const auto& labels = labels_of(record);
  Holder holder = holder_from_labels(labels);
  if (fast_path_gone(holder)) return Liveness::gone;
  std::string lease = label_value(labels, kLeaseLabel);
  if (!labels.contains(kLeaseLabel)) return legacy_liveness(holder);
  auto container = lease.empty() ? std::nullopt : engine.container_inspect(lease);
  if (!container) return Liveness::gone;
  // A record is written after its lease started: a lease not running is over.
  return lease_liveness(*container) == Liveness::alive ? Liveness::alive : Liveness::gone;
}

engine::Labels my_holder_labels() {
  return {{kOwnerLabel, util::my_owner_identity()},
          {kHostLabel, my_hostname()},
          {kPidLabel, std::to_string(::getpid())},
          {kSinceLabel, utc_now()}};
}

int lease_seconds() {
  const char* env = std::getenv("DOCKFORM_LOCK_LEASE_SECONDS");
  if (env == nullptr || *env == '\0') return 60;
  long value = std::strtol(env, nullptr, 10);
  return static_cast<int>(std::clamp(value, 2L, 3600L));
}

Lease::Lease(engine::Engine& engine, const HelperImage& image, const std::string& name, engine::Labels labels,
             Release release)
    : engine_(engine), release_(release) {
  stop_ = util::Fd(::eventfd(0, EFD_CLOEXEC));
  if (!stop_.valid()) throw Error("cannot make an eventfd for the lease's heartbeat");
  int seconds = lease_seconds();
  labels[kLeaseLabel] = std::to_string(seconds);
  // dockform-helper lease: ends when no heartbeat came for `seconds`, or at
  // the end of its stdin.
  engine::json config = {{"User", "65534:65534"},
                         {"AttachStdin", true},
                         {"AttachStdout", true},
                         {"AttachStderr", true},
                         {"OpenStdin", true},
                         // The end of our connection closes its stdin: the lease ends with us.
                         {"StdinOnce", true},
                         {"Tty", false},
                         {"NetworkDisabled", true},
                         {"Labels", labels},
                         {"HostConfig",
                          {{"AutoRemove", true},
                           {"NetworkMode", "none"},
                           {"LogConfig", {{"Type", "none"}, {"Config", engine::json::object()}}},
                           {"CapDrop", {"ALL"}},
                           {"SecurityOpt", {"no-new-privileges"}},
                           // The engine copies nothing into a read-only root: only the built-in
                           // image (which holds the helper already) gets one.
                           {"ReadonlyRootfs", !image.binary_tar},
                           {"Privileged", false}}}};
  id_ = create_helper_container(engine_, image, std::move(config), {"lease", std::to_string(seconds)}, name);
  try {
    connection_ = engine_.container_attach(id_, true);
    engine_.container_start(id_);
  } catch (...) {
    connection_.reset();
    try {
      engine_.container_remove(id_);
    } catch (const std::exception& e) {
      // The start's error is the one to report; AutoRemove or the next run removes it.
      spdlog::warn("could not remove the lease container {}: {}", id_.substr(0, 12), e.what());
    }
    throw;
  }
  keeper_ = std::thread([this] { heartbeat(); });
}

void Lease::heartbeat() {
  // Signals are for the main thread, whose loops check for them.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  const auto interval = std::chrono::milliseconds(lease_seconds() * 1000 / 4);
  auto next = std::chrono::steady_clock::now();
  try {
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      if (now >= next) {
        connection_->write_some("\n", 1);
        next = now + interval;
      }
      // Until the next beat, the lease's end (its connection closes) or our stop;
      // at least once a second, for read_some to send what a beat's write_some left.
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
      pollfd fds[2] = {{connection_->fd(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(std::clamp<long long>(wait, 0, 1000))) < 0 && errno != EINTR) {
        throw Error("poll of the lease's connection failed");
      }
      if (fds[1].revents != 0) return;
      // Also sends what an earlier write_some left (16 KiB: a whole TLS record, see RawConnection::fd).
      char buffer[16 * 1024];
      if (connection_->read_some(buffer, sizeof buffer, std::chrono::milliseconds(0)) == 0) {
        lost_ = true;  // the lease container ended: the engine closed the attach
        return;
      }
    }
  } catch (const std::exception& e) {
    spdlog::debug("lease {}: {}", id_.substr(0, 12), e.what());
    lost_ = true;
  }
}

bool Lease::lost() {
  if (lost_) return true;
  try {
    auto container = engine_.container_inspect(id_);
    if (!container || lease_liveness(*container) != Liveness::alive) lost_ = true;
  } catch (const std::exception& e) {
    // Not rethrown: an engine that does not answer cannot vouch for the
    // lease, so it counts as lost (the caller stops before changing anything).
    spdlog::debug("lease {}: inspect failed, taken as lost: {}", id_.substr(0, 12), e.what());
    lost_ = true;
  }
  return lost_;
}

Lease::~Lease() {
  std::uint64_t one = 1;
  if (::write(stop_.get(), &one, sizeof one) != sizeof one) spdlog::debug("lease {}: eventfd write failed", id_);
  if (keeper_.joinable()) keeper_.join();
  connection_.reset();  // stdin ends: the container exits by itself
  if (release_ == Release::let_end) return;
  try {
    remove_and_wait(engine_, id_);
  } catch (const std::exception& e) {
    spdlog::warn("could not remove lease container {}: {} (it ends by itself within {} s)", id_.substr(0, 12), e.what(),
                 lease_seconds());
  }
}

void remove_and_wait(engine::Engine& engine, const std::string& id_or_name) {
  try {
    engine.container_remove(id_or_name);
  } catch (const engine::EngineError& e) {
    if (e.status() != 409) throw;  // 409: its removal is already under way
  }
  // Gone at once on dockerd; Podman's cleanup can take seconds on a loaded host.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (engine.container_inspect(id_or_name)) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("container " + id_or_name + " is still there 30 s after its removal");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace dockform::volume
