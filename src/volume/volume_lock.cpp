#include "dockform/volume/volume_lock.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "dockform/util/process.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::volume {

namespace {
using names::kLockLabel;
// A holder needs well under a second between creating its lock and starting it.
constexpr auto kStartGrace = std::chrono::seconds(10);

std::optional<LockInfo> inspect_once(engine::Engine& engine, const std::string& volume) {
  auto found = engine.container_inspect(VolumeLock::container_name(volume));
  if (!found) return std::nullopt;
  LockInfo info;
  info.container_id = found->value("Id", "");
  const auto& config = (*found)["Config"];
  info.holder = holder_from_labels(config.contains("Labels") ? config["Labels"] : engine::json::object());
  info.liveness = lease_liveness(*found);
  return info;
}

// Only a lock holder writes to a volume, so a writing helper of another run
// belongs to a holder that lost the lock (killed, crashed, or suspended past
// its lease): a helper outlives its client, so end it before we touch the volume.
void end_writers(engine::Engine& engine, const std::string& volume) {
  for (const auto& container :
       engine.container_list(false, {{"label", {kHelperLabel, std::string(kVolumeLabel) + "=" + volume}}})) {
    auto owner = container.labels.find(kOwnerLabel);
    if (owner != container.labels.end() && owner->second == util::my_owner_identity()) continue;
    auto details = engine.container_inspect(container.id);
    // The volume's own mount decides: a snapshot's helper also mounts the
    // local channel's folder read-write (local_channel.hpp).
    bool writes = false;
    if (details && details->contains("Mounts")) {
      for (const auto& mount : (*details)["Mounts"]) {
        writes = writes || (mount.value("Name", "") == volume && mount.value("RW", false));
      }
    }
    if (!writes) continue;  // a snapshot's reader: not the lock holder's
    spdlog::warn("removing helper container {} of the run that held the lock", container.id.substr(0, 12));
    engine.container_remove(container.id);
  }
}
}  // namespace

void refuse_held(const std::string& what, const std::string& volume, const Holder& holder) {
  throw Error(what + " (held by " + describe(holder) + "); try again when it has finished, or see " +
                  "`dockform volume unlock " + volume + "` if that run is dead",
              Exit::refused);
}

std::optional<LockInfo> VolumeLock::inspect(engine::Engine& engine, const std::string& volume) {
  auto deadline = std::chrono::steady_clock::now() + kStartGrace;
  for (;;) {
    auto info = inspect_once(engine, volume);
    if (!info || info->liveness != Liveness::starting) return info;
    if (std::chrono::steady_clock::now() > deadline) {
      info->liveness = Liveness::gone;  // created but never started: its holder died in between
      return info;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

VolumeLock::VolumeLock(engine::Engine& engine, const HelperImage& image, const std::string& volume) : volume_(volume) {
  engine::Labels labels = my_holder_labels();
  labels[kLockLabel] = volume;
  for (int attempt = 0; attempt < 5; ++attempt) {
    try {
      lease_ = std::make_unique<Lease>(engine, image, container_name(volume), labels);
      end_writers(engine, volume);
      return;
    } catch (const engine::EngineError& e) {
      if (e.status() != 409) throw;
    }
    auto lock = inspect(engine, volume);
    if (!lock) continue;  // released meanwhile
    if (lock->liveness != Liveness::gone) {
      refuse_held("volume " + volume + " is being restored by another dockform run", volume, lock->holder);
    }
    spdlog::warn("taking over the lock on volume {} left by an interrupted run ({})", volume, describe(lock->holder));
    remove_and_wait(engine, lock->container_id);
  }
  throw Error("could not lock volume " + volume + " (lock container " + container_name(volume) + ")");
}

VolumeLock::~VolumeLock() = default;

void VolumeLock::ensure_held() {
  if (!lease_->lost()) return;
  throw Error("lost the lock on volume " + volume_ + ": its lock container ended (the engine restarted, or this run " +
              "was suspended for longer than the " + std::to_string(lease_seconds()) + " s lease); the volume was " +
              "not changed");
}

void VolumeLock::refuse_if_held(engine::Engine& engine, const std::string& volume) {
  auto lock = inspect(engine, volume);
  if (lock && lock->liveness != Liveness::gone) {
    refuse_held("volume " + volume + " is being restored by another dockform run", volume, lock->holder);
  }
}

}  // namespace dockform::volume
