#pragma once
// One restore per volume at a time, across processes and machines that share
// the engine: the lock is a lease container (see lease.hpp) with a fixed
// name, which the engine lets exist only once. The lock is held while that
// container runs; it ends by itself when its holder dies, wherever it ran.
// A lock whose holder is proved gone is taken over.
#include <memory>
#include <optional>
#include <string>

#include "dockform/engine/docker.hpp"
#include "dockform/volume/lease.hpp"

namespace dockform::volume {

// What the engine shows of a volume's lock.
struct LockInfo {
  std::string container_id;
  Holder holder;
  Liveness liveness = Liveness::unknown;
};

class VolumeLock {
 public:
  // Throws Error(Exit::refused) while another live dockform run holds it.
  VolumeLock(engine::Engine& engine, const HelperImage& image, const std::string& volume);
  ~VolumeLock();
  VolumeLock(const VolumeLock&) = delete;
  VolumeLock& operator=(const VolumeLock&) = delete;

  // Throws unless the lock is still ours: its lease can end under us when the
  // engine restarts or this process was suspended longer than the lease.
  void ensure_held();

  static std::string container_name(const std::string& volume) { return "dockform-lock-" + volume; }
  // Refuses (Exit::refused) when a live run holds the volume's lock.
  static void refuse_if_held(engine::Engine& engine, const std::string& volume);
  // The lock as it stands (a lock just being taken is waited for, up to 10 s).
  static std::optional<LockInfo> inspect(engine::Engine& engine, const std::string& volume);

 private:
  std::string volume_;
  std::unique_ptr<Lease> lease_;
};

// The refusal when a lock or record is held: names the holder and the way out.
[[noreturn]] void refuse_held(const std::string& what, const std::string& volume, const Holder& holder);

}  // namespace dockform::volume
