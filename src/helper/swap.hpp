// The restore's staging and swap protocol at the volume root (ROOT, normally
// /volume), rolled forward from wherever a killed run stopped.
//
// Names at the root that dockform reserves ("ours"):
//   .dockform-restore-ID    the staging folder the archive is extracted into
//   .dockform-old-ID        the old content during a swap
//   .dockform-swap-ID       the journal: one phase digit and "\n"
//   .dockform-swap-ID.tmp   the journal being written
// Phases: 1 = moving the old content into .dockform-old-ID, 2 = moving the
// staged content to the root, 3 = the new content is live, only cleanup is
// left. Every step is a rename inside one file system and can be redone.
//
// A partial restore (`restore ROOT ID --path PATH...`) swaps the subtrees at
// those paths only. Its journal holds the phase line, then each path (below
// the root, normalised, subtree.hpp) ended by a NUL byte; a journal without
// paths is a whole restore's. The staging folder holds the subtrees at their
// paths, under the snapshot's folders above them. Phase 1 moves each path's
// old entry, when there is one, to the same path inside .dockform-old-ID
// (folders above it made there, mode 0700); phase 2 moves each staged entry
// to its path, or, where the volume lacks a folder above it, the staged
// folder that is missing (the snapshot's, with its metadata); phase 3's
// cleanup removes the old entries and what is left of the staging folder.
// Nothing else in the volume moves: the folders above a path keep their
// entries and metadata, except their mtime, the time of the swap. No path
// is walked through a symlink (O_NOFOLLOW at every step).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dockform/util/fd.hpp"
#include "dockform/util/names.hpp"

namespace dockform::helper {

using names::kJournalPrefix;
using names::kOldPrefix;
using names::kStagingPrefix;

// A partial restore's paths, normalised; empty: the whole volume.
using Paths = std::vector<std::string>;

// True for a name dockform reserves at the volume root.
bool is_ours(std::string_view name);

// The volume root, open for the whole run: every step names entries
// relative to it, never by a path that could lead elsewhere. Each step
// reports its failure as a JSON line and returns false.
class VolumeRoot {
 public:
  bool open(const std::string& path);
  int fd() const { return fd_.get(); }
  bool entries(std::vector<std::string>& names) const;
  // syncfs: the volume's file system only.
  bool flush() const;
  // Durable before it returns: written aside, fsynced, renamed, flushed.
  bool set_phase(const std::string& id, char phase, const Paths& paths) const;
  // Phases 1 to 3 from the start (the restore's "go"): the new content is
  // live when it returns true.
  bool swap(const std::string& id, const Paths& paths) const;
  // Rolls a journal at `phase` forward to the end, cleanup included.
  bool finish_swap(const std::string& id, std::string_view phase, const Paths& paths) const;
  // Before a partial restore: each folder above a path that the volume has
  // must be a folder (not a symlink or a file).
  bool check_parents(const Paths& paths) const;
  // Before a partial swap begins: every path is in the staging folder (a
  // later run takes a staged entry that is gone for one moved already).
  bool check_staged(const std::string& id, const Paths& paths) const;
  // Recovery of whatever killed runs left, then "entries=N" and
  // "free_kb=K" on stdout.
  bool prepare() const;

 private:
  bool move_old(const std::string& id, const Paths& paths) const;
  bool move_new(const std::string& id, const Paths& paths) const;
  bool move_old_whole(const std::string& id) const;
  bool move_new_whole(const std::string& id) const;
  bool move_old_path(int old, const std::string& path) const;
  bool move_new_path(int staging, const std::string& path) const;
  bool move_in(int from, const std::string& staging, const std::string& name) const;
  bool replace(int from, int to, const std::string& path, const std::string& name) const;
  bool cleanup(const std::string& id, bool whole) const;
  bool finish_journal(const std::string& name) const;
  bool report_state() const;
  bool fail(std::string_view path, int error) const;

  util::Fd fd_;
};

// The subcommands; each returns the exit code.
int prepare_command(const std::string& root);
int leftovers_command(const std::string& root);
int remove_command(const std::string& root, const std::string& name);
// 0 when `root` holds nothing of ours; else 113 after a "leftover" error
// naming the first such entry (1 when `root` cannot be read).
int check_no_leftovers(const std::string& root);

}  // namespace dockform::helper
