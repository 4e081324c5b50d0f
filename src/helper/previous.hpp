// The nightly fast path of create and snapshot (--previous FILE --marker
// NONCE, protocol 6): the host lists the previous snapshot's members; a
// member whose metadata is unchanged is not read nor written, and each run
// of such members becomes one marker entry in the stream that the host
// replaces with the previous snapshot's bytes of those members.
//
// FILE holds one record per previous member:
//   N TYPE INO CTIME_SEC CTIME_NSEC SIZE MTIME_SEC MTIME_NSEC PATH\0
// N its number in the previous snapshot, TYPE one of member_type()'s
// letters, PATH normalised ("" for the root, "a/b" otherwise).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "handles.hpp"

namespace dockform::helper {

struct PreviousMember {
  std::uint64_t number = 0;
  char type = 'o';
  std::uint64_t ino = 0;
  std::int64_t ctime_sec = 0;
  std::int64_t ctime_nsec = 0;
  std::int64_t size = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;
};

// The letter of a member's kind in FILE: f regular file, d folder,
// l symlink, h hard link to an earlier path, p fifo, c character or block
// device, o anything else. `hardlink`: archive_entry_linkify named an
// earlier path (any kind but a folder can be one).
char member_type(mode_t mode, bool hardlink);

// "." -> "", "./a/b" -> "a/b": an archive path as FILE spells it.
std::string_view normalised(std::string_view archive_path);

// --marker's NONCE: exactly 16 lowercase hex characters.
bool is_nonce(std::string_view text);

class Previous {
 public:
  Previous() = default;
  // The map's keys point into text_.
  Previous(const Previous&) = delete;
  Previous& operator=(const Previous&) = delete;

  // Reads FILE; false with `error` set when it cannot be read or is malformed.
  bool load(const std::string& file, std::string& error);

  // The previous number of the member at `path` (normalised) when it is
  // unchanged: same type, inode, change and modification times, and size
  // for a regular file. `hardlink` is the earlier path linkify named, or
  // null. A hard link must also name a path that was the same inode's first
  // member before: its header holds that name, which an exclude or a rename
  // can change without touching its own inode.
  std::optional<std::uint64_t> unchanged(std::string_view path, const struct stat& st, const char* hardlink) const;

 private:
  bool parse(std::string& error);
  const PreviousMember* find(std::string_view path) const;

  std::vector<char> text_;
  std::unordered_map<std::string_view, PreviousMember> members_;
};

// A run of consecutive unchanged members: previous numbers [first, first + count).
struct Run {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

// The pending run. Each unchanged member either extends it or ends it.
class Runs {
 public:
  // Adds the unchanged member numbered `number`; returns the run that must
  // be written first, when the member does not extend the pending one.
  std::optional<Run> add(std::uint64_t number);
  // Ends the pending run (before a changed member and at the end).
  std::optional<Run> take();

 private:
  Run pending_;
};

// The marker for `run`: an empty regular file ./.dfsame.NONCE.FIRST.COUNT,
// mode 0600, owner 0:0, mtime 0, nothing else: one ustar block, no pax
// header. Null when out of memory.
Entry marker_entry(std::string_view nonce, Run run);

}  // namespace dockform::helper
