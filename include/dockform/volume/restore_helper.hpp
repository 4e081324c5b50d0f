#pragma once
// A whole restore in one helper container (one create/start/wait/remove):
//   start()            the helper finishes or removes what an interrupted
//                      restore left, reports the volume's state and creates
//                      the staging folder;
//   start_extraction() runs the extraction as an exec in the same
//                      container, its stdin the stream (or the local
//                      channel, local_channel.hpp, when there is one and
//                      the helper can see it);
//   flush()            makes the staged content durable (syncfs);
//   swap()             the go: journal and swap (staging.hpp's protocol);
//   settle_failed_swap() after a swap that failed (the helper died, its
//                      connection dropped, a signal): finishes or undoes it
//                      with a helper of its own, before the users start.
// The container's own stdin carries these commands, one a line. Nothing live
// changes before the go; without one (error, signal) the staging folder is
// removed. When dockform is killed, the helper's stdin ends and it exits,
// leaving what was there for the next run to finish or remove.
#include <memory>
#include <string>
#include <vector>

#include "dockform/engine/demux.hpp"
#include "dockform/engine/docker.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/local_channel.hpp"
#include "dockform/volume/staging.hpp"

namespace dockform::volume {

class RestoreHelper {
 public:
  // With a channel, the container mounts its folder and the extraction tries it first.
  // With `paths`, a partial restore of those subtrees (staging.hpp's restore_helper_spec).
  RestoreHelper(engine::Engine& engine, HelperImage image, std::string volume, LocalChannel* channel = nullptr,
                std::vector<std::string> paths = {});
  ~RestoreHelper();
  RestoreHelper(const RestoreHelper&) = delete;
  RestoreHelper& operator=(const RestoreHelper&) = delete;

  const std::string& staging_id() const { return id_; }
  // Starts the helper; returns what it recovered and the volume's state.
  // From here on the staging folder exists (removed unless the swap runs).
  VolumeState start();
  // Starts the extraction (dockform-helper extract); the connection takes
  // the tar stream and gives the helper's messages (JSON lines).
  // no_privileged_bits: --no-privileged-bits (staging.hpp's extract_command).
  engine::RawConnection& start_extraction(bool no_privileged_bits);
  // After start_extraction(): the channel the tar stream goes to instead of
  // the connection (which then gives the helper's messages only), or null.
  LocalChannel* data_channel() const { return channel_ && channel_->connected() ? channel_ : nullptr; }
  // Ends the extraction early (its input is cut) and waits for it to end.
  void stop_extraction();
  // The extraction's exit code, once its input was closed.
  int extraction_exit_code();
  // Makes the staged content durable while the volume's users still run.
  void flush();
  // Makes the staged content live; throws when that failed.
  void swap();
  // After swap() threw: ends this helper, then a helper of its own finishes
  // the swap (its journal says how far it got) or, without a journal,
  // removes the staging. Returns what that did, in words; throws when it
  // could not be done (the volume may be half-swapped: the next run
  // finishes it).
  std::string settle_failed_swap();
  // Removes the old content and the journal (after the users run again).
  void finish_swap();

 private:
  enum class Phase { created, staged, swapping, live, done };
  std::string read_until(const std::string& marker);
  void send_line(const std::string& line);
  [[noreturn]] void fail(const std::string& what);
  void abandon() noexcept;
  bool finish_with_own_helper();

  engine::Engine& engine_;
  HelperImage image_;
  std::string volume_;
  std::string id_;
  std::vector<std::string> paths_;
  LocalChannel* channel_;
  HelperContainer container_;
  engine::Demuxer demux_;
  std::string out_;
  HelperMessages err_;
  std::string exec_id_;
  std::unique_ptr<engine::RawConnection> exec_connection_;
  Phase phase_ = Phase::created;
  // Cleanup runs after a signal too: its waits are not interruptible.
  bool cleaning_up_ = false;
};

}  // namespace dockform::volume
