#pragma once
// The local fast path (dockform's volume/local_channel.hpp): instead of the
// engine's stdio relay, the archive stream goes through a Unix socket in a
// folder that dockform made on the engine's host and bind-mounted here.
//
//   dockform-helper --channel DIR COMMAND ...
//
// reads DIR/token, connects to DIR/socket, sends the token and a newline
// (dockform checks it: the proof that this helper sees dockform's folder),
// and puts the socket in place of stdout (create, snapshot) or stdin
// (extract) before COMMAND runs. When the folder is not the one dockform
// made (an engine on another machine or in another mount namespace creates
// an empty one), it reports kind "no-channel" and exits 114 without touching
// the volume: dockform then runs the helper again over attach.

namespace dockform::helper {

inline constexpr int kNoChannelExit = 114;

// Connects and replaces `target_fd` (0 or 1); false after reporting why.
bool open_channel(const char* dir, int target_fd);

}  // namespace dockform::helper
