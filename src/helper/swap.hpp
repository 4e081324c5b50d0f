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
  bool set_phase(const std::string& id, char phase) const;
  // Phases 1 to 3 from the start (the restore's "go"): the new content is
  // live when it returns true.
  bool swap(const std::string& id) const;
  // Rolls a journal at `phase` forward to the end, cleanup included.
  bool finish_swap(const std::string& id, std::string_view phase) const;
  // Recovery of whatever killed runs left, then "entries=N" and
  // "free_kb=K" on stdout.
  bool prepare() const;

 private:
  bool move_old(const std::string& id) const;
  bool move_new(const std::string& id) const;
  bool move_in(int from, const std::string& staging, const std::string& name) const;
  bool cleanup(const std::string& id) const;
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
