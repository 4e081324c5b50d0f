#pragma once
// What the helper's tar said about a volume that changed while it was read.
//
// Measured with Debian's busybox 1.35 (the tar of the default alpine helper
// too) and GNU tar 1.34:
//   a path that vanished between listing and reading
//     busybox: "tar: ./f: No such file or directory" (or "can't open './f': ...")
//              and "error exit delayed from previous errors"; goes on, exit 1
//     GNU:     "tar: ./f: File removed before we read it"; goes on, exit 1
//   a file that changed or grew while read
//     busybox: nothing (it copies the size it saw at lstat); exit 0
//     GNU:     "tar: ./f: file changed as we read it"; exit 1
//   a file that shrank while read
//     busybox: "tar: short read" and dies at once: the stream ends mid-member
//     GNU:     "tar: ./f: File shrank by N bytes; padding with zeros"; exit 1
// GNU tar's exit code 1 only ever means such differences; 2 is a real error.
#include <string>
#include <vector>

#include "dockform/util/error.hpp"

namespace dockform::volume {

struct TarVerdict {
  enum class Kind { ok, retry, failed };
  Kind kind = Kind::ok;
  // One line per path that changed while read (tar's words, prefix removed),
  // plus any other notice tar gave on success.
  std::vector<std::string> changes;
  // For retry: why the stream stopped short; for failed: the helper's words.
  std::string reason;
};

// Judges tar's exit code and stderr. `stream_complete`: the archive reached
// its end-of-archive marker.
TarVerdict judge_tar_output(int exit_code, const std::string& helper_stderr, bool stream_complete);

// Thrown when the helper's tar could not go past a change (busybox dies on a
// file that shrinks while it is read): the whole snapshot can be tried again.
class TarStoppedByChange : public Error {
 public:
  explicit TarStoppedByChange(const std::string& what) : Error(what) {}
};

}  // namespace dockform::volume
