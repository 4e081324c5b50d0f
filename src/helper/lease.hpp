#pragma once

namespace dockform::helper {

// `lease SECONDS`: the heartbeat end of dockform's volume lock. Every byte
// on stdin renews the lease for `seconds`; it ends (exit 0) when stdin ends
// or no byte came in time. Touches no file: it runs as nobody on a
// read-only root.
int lease_command(int seconds);

}  // namespace dockform::helper
