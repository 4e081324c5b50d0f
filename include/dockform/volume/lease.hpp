#pragma once
// Liveness the engine can see. A lease is a running container whose life is
// tied to this process: its stdin is attached over our engine connection, and
// its shell reads heartbeats from it. When this process dies (killed, machine
// crashed, network gone) the heartbeats stop or the connection closes, the
// container's shell exits, and the engine removes it (AutoRemove). Locks and
// stopped-containers records use a lease to prove their holder alive.
//
// Holders are named by labels: io.dockform.owner (boot id:pid:start, for the
// fast path on this machine), io.dockform.host, io.dockform.pid and
// io.dockform.since (when the lease was taken, UTC).
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "dockform/engine/docker.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/names.hpp"
#include "dockform/volume/helper_image.hpp"

namespace dockform::volume {

using names::kHostLabel;
using names::kLeaseLabel;
using names::kPidLabel;
using names::kSinceLabel;

// Who holds a lock or a record, as its labels say.
struct Holder {
  std::string owner;  // boot id:pid:start ("" when the labels carry none)
  std::string host;   // "" for records written before hosts were recorded
  long pid = 0;
  std::string since;  // ISO 8601 UTC, or ""
};
Holder holder_from_labels(const engine::json& labels);
// "dockform pid 4242 on host web-1 since 2026-11-27T03:00:12Z"
std::string describe(const Holder& holder);

// alive: the holder runs (or may run: an owner on another machine without a
// lease, written by dockform 0.6). gone: proved gone. starting: a lease
// created but not started yet (its holder is between create and start).
enum class Liveness { alive, starting, gone, unknown };
const char* liveness_name(Liveness liveness);

// Liveness of a lease container from its inspect document (lock containers).
Liveness lease_liveness(const engine::json& container);
// Liveness of a record's holder: its lease container (by id) decides.
Liveness record_liveness(engine::Engine& engine, const engine::json& record);

// The labels naming this process as holder (owner, host, pid, since now).
engine::Labels my_holder_labels();

// Lease duration: DOCKFORM_LOCK_LEASE_SECONDS (2..3600), default 60.
int lease_seconds();

class Lease {
 public:
  // How the lease ends. remove: the container is removed and gone when the
  // destructor returns (a lock: its name must be free for the next holder).
  // let_end: our connection closes, the container's stdin ends, it exits and
  // the engine removes it (AutoRemove) a moment later; an exited lease
  // counts as gone, so nothing waits for that (a reader lease).
  enum class Release { remove, let_end };

  // Creates (under `name` when given), attaches and starts the lease
  // container. Throws EngineError(409) when `name` is taken.
  Lease(engine::Engine& engine, const HelperImage& image, const std::string& name, engine::Labels labels,
        Release release = Release::remove);
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  const std::string& id() const { return id_; }
  // True once the lease container ended (engine restart, or this process was
  // suspended longer than the lease). Asks the engine.
  bool lost();

 private:
  void heartbeat();
  engine::Engine& engine_;
  Release release_;
  std::string id_;
  std::unique_ptr<engine::RawConnection> connection_;
  std::atomic<bool> lost_{false};
  util::Fd stop_;  // an eventfd: written once, it ends the heartbeat at once
  std::thread keeper_;
};

// Force-removes a container and waits (up to 30 s) until the engine no
// longer knows it, so its name can be taken again.
void remove_and_wait(engine::Engine& engine, const std::string& id_or_name);

}  // namespace dockform::volume
