#pragma once
// The local fast path. The engine's stdio relay (attach) copies every byte
// of a helper's archive through containerd's shim and dockerd: a core's
// worth of work on a two-core machine that zstd and SHA-256 need. When the
// engine runs on this machine, the archive goes through a Unix socket in a
// private folder that dockform makes and the engine bind-mounts into the
// helper (src/helper/channel.hpp); attach then carries the helper's
// messages only. Nothing is assumed: the helper must send back a random
// token it read from the folder before any data counts, and a helper that
// cannot (an engine on another machine or in another mount namespace sees
// another folder, or none) exits 114 (src/helper/channel.hpp): the caller
// runs it again over attach. Every check on the stream stays where it was;
// only the transport changes. DOCKFORM_TRANSPORT=attach forces the relay.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "dockform/engine/endpoint.hpp"
#include "dockform/engine/http.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::volume {

class LocalChannel {
 public:
  // A channel when the endpoint is a unix:// socket and DOCKFORM_TRANSPORT is
  // not "attach", and the folder and socket could be made; otherwise nothing,
  // with a debug line saying why.
  static std::optional<LocalChannel> open_for(const engine::Endpoint& endpoint);

  LocalChannel(LocalChannel&& other) noexcept;
  LocalChannel& operator=(LocalChannel&&) = delete;
  LocalChannel(const LocalChannel&) = delete;
  LocalChannel& operator=(const LocalChannel&) = delete;
  ~LocalChannel();  // closes both sockets and removes the folder

  // The bind mount into a helper container.
  void mount(HelperSpec& spec) const;
  // The bind mount and "--channel DIR" before the helper's command (the archive helper).
  void apply(HelperSpec& spec) const;
  // Puts the nightly fast path's --previous file (files_cache.hpp) in the
  // folder; returns its path inside the helper.
  std::string put_previous(const std::string& records) const;
  // A helper command line (helper path first) that takes the channel.
  std::vector<std::string> command(std::vector<std::string> helper_command) const;

  // To poll: the listening socket until the helper connected, then the data connection.
  int fd() const { return connected() ? data_.get() : listener_.get(); }
  bool connected() const { return data_.valid(); }
  // Accepts a waiting connection (none waiting: returns false) and checks
  // its token; throws Error when the token is wrong or does not come in 10 s.
  bool accept_checked();
  // For an extraction started in exec: waits until the helper connected and
  // sent its token (true), or until its exec's output ended without that
  // (false: it could not see the folder). Throws after `limit`.
  bool wait_connected(engine::RawConnection& exec, std::chrono::seconds limit);
  // Reads from the data connection: 0 at its end, -1 when nothing is there.
  long read_some(char* buffer, std::size_t size);
  // Sends without blocking; returns what was taken (maybe 0). Throws once
  // the helper closed its end (it stopped reading).
  std::size_t write_some(const char* data, std::size_t size);
  // The helper sees the end of the archive.
  void close_write();
  // Ends the data connection (an extraction cut short sees its input end).
  void close_data() { data_.close(); }

 private:
  LocalChannel() = default;
  std::string dir_;
  std::string token_;
  util::Fd listener_;
  util::Fd data_;
};

}  // namespace dockform::volume
