#pragma once
// The nightly fast path's host side (docs/storage.md, "Nightly snapshots:
// what is read"). A repository snapshot records, for the next one, every
// member's inode and change time as the archive helper saw them (its
// "stat" messages), in a cache on this host beside the snapshot's name. The
// next snapshot of the volume into the same repository hands the helper the
// earlier snapshot's members with them (--previous): a member whose type,
// size, mtime, ctime and inode are all unchanged is not read, and its bytes
// come from the earlier snapshot. Like restic's files cache, it is only as
// true as the filesystem's metadata: `--full-read` reads everything.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/archive/seekable.hpp"

namespace dockform::volume {

// A member's inode and change time, as the helper's lstat saw them.
struct FileStamp {
  std::uint64_t inode = 0;
  std::int64_t ctime_sec = 0;
  std::uint32_t ctime_nsec = 0;
  bool operator==(const FileStamp&) const = default;
};

struct FilesCache {
  std::string stem;               // the snapshot it describes
  std::uint64_t fast_runs = 0;    // snapshots since the last one that read everything
  std::vector<FileStamp> stamps;  // one per member, in the snapshot's order
};

// $DOCKFORM_CACHE_DIR, else $XDG_CACHE_HOME/dockform, else ~/.cache/dockform;
// then files/<a hash of `where`> (the repository's folder of the volume).
std::string files_cache_path(const std::string& where);
// Nothing when there is no cache, or it cannot be read (the snapshot then
// reads everything, and says why in a debug line).
std::optional<FilesCache> read_files_cache(const std::string& path);
// Written whole under a temporary name, then renamed. A failure is a warning:
// the next snapshot reads everything.
void write_files_cache(const std::string& path, const FilesCache& cache);

// The helper's --previous file: each member as
// "N TYPE INODE CTIME_SEC CTIME_NSEC SIZE MTIME_SEC MTIME_NSEC PATH\0",
// PATH normalised ("" for the root).
std::string previous_records(const std::vector<archive::Member>& members, const std::vector<FileStamp>& stamps);

// Collects the helper's {"kind":"stat","first":N,"members":[[INODE,SEC,NSEC],...]}
// lines; false for a line that is not one. A batch out of order spoils the
// whole list (complete() is then false).
class StampCollector {
 public:
  bool take(std::string_view line);
  // Every batch in order so far.
  bool complete() const { return !spoiled_; }
  std::vector<FileStamp>& stamps() { return stamps_; }

 private:
  std::vector<FileStamp> stamps_;
  bool spoiled_ = false;
};

}  // namespace dockform::volume
