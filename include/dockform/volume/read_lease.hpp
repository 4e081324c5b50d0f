#pragma once
// A restore must not swap a volume's content while a snapshot reads it: the
// snapshot would mix old and new. Each snapshot run holds a reader lease (a
// lease container, see lease.hpp, named dockform-read-<volume>-<id> and
// labelled io.dockform.read=<volume>) while its helper reads. Readers do not
// exclude each other; a restore refuses while one runs.
//
// The order makes it safe without a lock between the two: a snapshot starts
// its lease and only then checks the volume's lock; a restore takes the lock
// and only then looks for readers. Whichever comes second sees the other.
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"
#include "dockform/volume/lease.hpp"

namespace dockform::volume {

using names::kReadLabel;

// A reader lease as the engine shows it.
struct ReaderInfo {
  std::string container_id;
  Holder holder;
  Liveness liveness = Liveness::unknown;
};

class ReadLease {
 public:
  // Creates and starts the lease; the destructor ends it (the engine removes
  // it once it exited: nothing waits for that, an exited reader is none).
  ReadLease(engine::Engine& engine, const HelperImage& image, const std::string& volume);

  static std::string name_prefix(const std::string& volume) { return "dockform-read-" + volume + "-"; }

 private:
  Lease lease_;
};

// Every reader lease of the volume (not yet started ones too), with its liveness.
std::vector<ReaderInfo> list_readers(engine::Engine& engine, const std::string& volume);

// For a restore that holds the volume's lock: refuses (Exit::refused, naming
// the snapshot's run) while a live reader lease exists. A reader seen here
// may be a snapshot that is about to see our lock and give up: it is given a
// few seconds to go. Leases whose holder is gone are removed.
void refuse_if_read(engine::Engine& engine, const std::string& volume);

}  // namespace dockform::volume
