#pragma once
// The short-lived container that does the volume I/O. Owned by a
// HelperContainer: removed when the object goes, whatever happened.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"
#include "dockform/util/names.hpp"
#include "dockform/volume/helper_image.hpp"
#include "dockform/volume/helper_messages.hpp"

namespace dockform::volume {

using names::kHelperLabel;
using names::kOwnerLabel;
using names::kVolumeLabel;
// Where every helper sees the volume.
inline constexpr const char* kVolumeMountPoint = "/volume";
// How long a helper whose output has ended (or that was killed) may take to end.
inline constexpr std::chrono::seconds kEndLimit{120};

struct HelperSpec {
  HelperImage image;
  std::string volume;
  std::string mount_point;  // where the volume appears inside the helper
  bool read_only = true;
  bool with_stdin = false;
  std::vector<std::string> args;          // dockform-helper's command and arguments
  std::vector<std::string> capabilities;  // added after dropping all
  // "HOSTDIR:/dockform-io": the local channel's folder (local_channel.hpp).
  std::string channel_bind;
};

// A helper running `dockform-helper args...` on `volume` (mounted at
// kVolumeMountPoint) as root, with every capability dropped but `capabilities`.
HelperSpec volume_helper_spec(const HelperImage& image, const std::string& volume, std::vector<std::string> args,
                              std::vector<std::string> capabilities, bool read_only);

// The helper that writes the volume as a tar archive to its stdout (leaving
// out paths that match `excludes`). It exits kArchiveLeftoverExit, writing
// nothing, when the root holds what a killed restore left
// (finish_interrupted_restore() then comes first). With `estimate`, it
// first reports about how many bytes the tar will have (an "estimate" line).
HelperSpec archive_helper_spec(const HelperImage& image, const std::string& volume,
                               const std::vector<std::string>& excludes, bool estimate = false);
inline constexpr int kArchiveLeftoverExit = 113;

class HelperContainer {
 public:
  HelperContainer(engine::Engine& engine, const HelperSpec& spec);
  ~HelperContainer();
  HelperContainer(const HelperContainer&) = delete;
  HelperContainer& operator=(const HelperContainer&) = delete;

  const std::string& id() const { return id_; }
  // Attaches (stdout, stderr, and stdin when the spec asks) and starts.
  engine::RawConnection& attach_and_start();
  engine::RawConnection& connection() { return *connection_; }
  // Waits for the exit code, once the helper's output has ended: it then
  // ends at once, and one that still runs after kEndLimit hangs (e.g. on a
  // hung NFS mount) and fails the wait. Cleanup waits are not interruptible.
  int wait(bool interruptible = true);
  // Closes the attach connection (connection() is gone afterwards) and kills.
  void kill();

 private:
  engine::Engine& engine_;
  bool with_stdin_;
  std::string id_;
  std::unique_ptr<engine::RawConnection> connection_;
};

// Removes helper containers left behind by dockform processes on this machine
// that no longer run (a killed run cannot clean up after itself).
void remove_stale_helpers(engine::Engine& engine);

// Runs a helper to completion, returning its exit code, stdout (small
// outputs only: control commands, not data) and what it said on stderr.
struct HelperResult {
  int exit_code = -1;
  std::string out;
  HelperMessages err;
};
HelperResult run_helper(engine::Engine& engine, const HelperSpec& spec);

// A helper's output without its trailing newlines and spaces, for messages.
std::string trimmed(std::string text);

}  // namespace dockform::volume
