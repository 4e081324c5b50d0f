#include "swap.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dir.hpp"
#include "dockform/util/subtree.hpp"
#include "metadata.hpp"
#include "remove_tree.hpp"
#include "report.hpp"

namespace dockform::helper {

using names::kTmpSuffix;
using util::Fd;

namespace {

std::string journal_name(const std::string& id) { return std::string(kJournalPrefix) + id; }
std::string staging_name(const std::string& id) { return std::string(kStagingPrefix) + id; }
std::string old_name(const std::string& id) { return std::string(kOldPrefix) + id; }

Fd open_folder(int parent, const std::string& name) {
  return Fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A journal holds a phase line and, for a partial restore, its paths: a
// bound on paths of at most 4096 bytes each, far above any real list.
constexpr size_t kMaxJournalBytes = 16u << 20;

// The journal's paths (each ended by a NUL), checked as the helper checks
// its --path arguments; false when they are not what dockform writes.
bool parse_paths(std::string_view text, Paths& paths) {
  paths.clear();
  while (!text.empty()) {
    size_t end = text.find('\0');
    if (end == std::string_view::npos) return false;
    std::string_view path = text.substr(0, end);
    if (!subtree::restore_path_problem(path).empty() || subtree::normalise(path) != path) return false;
    paths.emplace_back(path);
    text.remove_prefix(end + 1);
  }
  return true;
}

// The phase in a journal (its first line; trailing newlines cut, what
// `$(cat journal)` gave the shell version) and its paths, or false.
bool read_journal(int root, const std::string& name, std::string& phase, Paths& paths) {
  Fd fd(::openat(root, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return false;
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxJournalBytes) return (errno = EFBIG, false);
  }
  size_t line = text.find('\n');
  phase = text.substr(0, line);
  std::string rest = line == std::string::npos ? std::string() : text.substr(line + 1);
  while (!rest.empty() && rest.back() == '\n') rest.pop_back();
  return parse_paths(rest, paths) || (errno = EINVAL, false);
}

// The folder holding `path`'s last component, walked from `top` one
// component at a time, never through a symlink; `make` creates the missing
// folders on the way (mode 0700). 0 or an errno value (ENOENT: a folder on
// the way is missing; ENOTDIR or ELOOP: it is no folder).
int open_parent(int top, std::string_view path, bool make, Fd& parent) {
  parent = Fd(::fcntl(top, F_DUPFD_CLOEXEC, 0));
  if (!parent.valid()) return errno;
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/')) {
    std::string part(path.substr(0, slash));
    if (make && ::mkdirat(parent.get(), part.c_str(), 0700) != 0 && errno != EEXIST) return errno;
    Fd next = open_folder(parent.get(), part);
    if (!next.valid()) return errno;
    parent = std::move(next);
    path.remove_prefix(slash + 1);
  }
  return 0;
}

std::string leaf_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool exists(int folder, const std::string& name) {
  struct stat st {};
  return ::fstatat(folder, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool is_regular_file(int root, const std::string& name) {
  struct stat st {};
  return ::fstatat(root, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

bool is_ours(std::string_view name) { return names::is_reserved(name); }

bool VolumeRoot::open(const std::string& path) {
  fd_ = Fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd_.valid()) return true;
  report("error", "root", path, std::strerror(errno));
  return false;
}

bool VolumeRoot::entries(std::vector<std::string>& names) const {
  names.clear();
  int error = list_dir(fd_.get(), names);
  return error == 0 || fail("./", error);
}

bool VolumeRoot::flush() const {
  // A failed syncfs is a writeback error: the staged data may not be on
  // disk, so no phase may start on top of it.
  return ::syncfs(fd_.get()) == 0 || fail("./", errno);
}

bool VolumeRoot::set_phase(const std::string& id, char phase, const Paths& paths) const {
  std::string name = journal_name(id);
  std::string tmp = name + std::string(kTmpSuffix);
  Fd fd(::openat(fd_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail(tmp, errno);
  std::string text = {phase, '\n'};
  for (const auto& path : paths) text.append(path).push_back('\0');
  if (!write_all(fd.get(), text) || ::fsync(fd.get()) != 0 || fd.close() != 0) return fail(tmp, errno);
  if (::renameat(fd_.get(), tmp.c_str(), fd_.get(), name.c_str()) != 0) return fail(name, errno);
  return flush();
}

bool VolumeRoot::swap(const std::string& id, const Paths& paths) const {
  return set_phase(id, '1', paths) && move_old(id, paths) && set_phase(id, '2', paths) && move_new(id, paths) &&
         set_phase(id, '3', paths);
}

bool VolumeRoot::finish_swap(const std::string& id, std::string_view phase, const Paths& paths) const {
  if (phase == "1") {
    if (!move_old(id, paths) || !set_phase(id, '2', paths)) return false;
    phase = "2";
  }
  if (phase == "2" && (!move_new(id, paths) || !set_phase(id, '3', paths))) return false;
  return cleanup(id, paths.empty());
}

bool VolumeRoot::check_parents(const Paths& paths) const {
  for (const auto& path : paths) {
    Fd parent;
    int error = open_parent(fd_.get(), path, false, parent);
    if (error == 0 || error == ENOENT) continue;
    report("error", "path", path,
           "a folder above it in the volume is not a folder (" + std::string(std::strerror(error)) + ")");
    return false;
  }
  return true;
}

bool VolumeRoot::check_staged(const std::string& id, const Paths& paths) const {
  std::string staging = staging_name(id);
  Fd staging_fd = open_folder(fd_.get(), staging);
  if (!staging_fd.valid()) return fail(staging, errno);
  for (const auto& path : paths) {
    Fd parent;
    if (open_parent(staging_fd.get(), path, false, parent) == 0 && exists(parent.get(), leaf_of(path))) continue;
    report("error", "path", path, "not in the staging folder: the snapshot has no such path");
    return false;
  }
  return true;
}

bool VolumeRoot::move_old(const std::string& id, const Paths& paths) const {
  if (paths.empty()) return move_old_whole(id);
  std::string old = old_name(id);
  if (::mkdirat(fd_.get(), old.c_str(), 0700) != 0 && errno != EEXIST) return fail(old, errno);
  Fd old_fd = open_folder(fd_.get(), old);
  if (!old_fd.valid()) return fail(old, errno);
  for (const auto& path : paths) {
    if (!move_old_path(old_fd.get(), path)) return false;
  }
  return true;
}

// Phase 1 of a partial restore for one path: its entry, when the volume has
// one (a redone phase finds it moved already), to the same path in `old`.
bool VolumeRoot::move_old_path(int old, const std::string& path) const {
  Fd from;
  if (int error = open_parent(fd_.get(), path, false, from); error != 0) {
    return error == ENOENT || fail(path, error);
  }
  std::string leaf = leaf_of(path);
  if (!exists(from.get(), leaf)) return true;
  Fd to;
  if (int error = open_parent(old, path, true, to); error != 0) return fail(path, error);
  return ::renameat(from.get(), leaf.c_str(), to.get(), leaf.c_str()) == 0 || fail(path, errno);
}

bool VolumeRoot::move_new(const std::string& id, const Paths& paths) const {
  if (paths.empty()) return move_new_whole(id);
  std::string staging = staging_name(id);
  Fd staging_fd = open_folder(fd_.get(), staging);
  if (!staging_fd.valid()) return fail(staging, errno);
  for (const auto& path : paths) {
    if (!move_new_path(staging_fd.get(), path)) return false;
  }
  return true;
}

// Phase 2 of a partial restore for one path. Staged entries that are gone
// were moved by an earlier run of this phase (the snapshot has every path:
// dockform checked it), maybe with a folder above them.
bool VolumeRoot::move_new_path(int staging, const std::string& path) const {
  Fd from(::fcntl(staging, F_DUPFD_CLOEXEC, 0));
  Fd to(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!from.valid() || !to.valid()) return fail(path, errno);
  std::string_view rest = path;
  for (size_t slash = rest.find('/'); slash != std::string_view::npos; slash = rest.find('/')) {
    std::string part(rest.substr(0, slash));
    Fd next_from = open_folder(from.get(), part);
    if (!next_from.valid()) return errno == ENOENT || fail(path, errno);
    Fd next_to = open_folder(to.get(), part);
    if (!next_to.valid() && errno != ENOENT) return fail(path, errno);
    // A folder the volume lacks: the snapshot's, with the staged paths below it.
    if (!next_to.valid()) return replace(from.get(), to.get(), path, part);
    from = std::move(next_from);
    to = std::move(next_to);
    rest.remove_prefix(slash + 1);
  }
  std::string leaf(rest);
  return !exists(from.get(), leaf) || replace(from.get(), to.get(), path, leaf);
}

// `name` from the folder `from` to the folder `to`; what holds the name
// there can only be what an interrupted run of the same phase moved already.
bool VolumeRoot::replace(int from, int to, const std::string& path, const std::string& name) const {
  if (::renameat(from, name.c_str(), to, name.c_str()) == 0) return true;
  if (errno != EEXIST && errno != ENOTEMPTY && errno != EISDIR && errno != ENOTDIR) return fail(path, errno);
  if (!remove_tree(to, name)) return false;
  return ::renameat(from, name.c_str(), to, name.c_str()) == 0 || fail(path, errno);
}

// Phase 1: every entry that is not ours into .dockform-old-ID. A redone
// phase finds part of the content moved already.
bool VolumeRoot::move_old_whole(const std::string& id) const {
  std::string old = old_name(id);
  if (::mkdirat(fd_.get(), old.c_str(), 0700) != 0 && errno != EEXIST) return fail(old, errno);
  Fd old_fd = open_folder(fd_.get(), old);
  if (!old_fd.valid()) return fail(old, errno);
  std::vector<std::string> names;
  if (!entries(names)) return false;
  for (const auto& name : names) {
    if (is_ours(name)) continue;
    if (::renameat(fd_.get(), name.c_str(), old_fd.get(), name.c_str()) != 0) return fail(name, errno);
  }
  return true;
}

// Phase 2: the staged entries to the root, then the staging folder's own
// metadata onto the root (extract set it from the archive's "./").
bool VolumeRoot::move_new_whole(const std::string& id) const {
  std::string staging = staging_name(id);
  Fd staging_fd = open_folder(fd_.get(), staging);
  struct stat st {};
  if (!staging_fd.valid() || ::fstat(staging_fd.get(), &st) != 0) return fail(staging, errno);
  std::vector<std::string> names;
  if (int error = list_dir(staging_fd.get(), names); error != 0) return fail(staging, error);
  for (const auto& name : names) {
    // Only an archive made before snapshots refused our names can hold
    // one; at the root it would be taken for a journal or leftover.
    if (is_ours(name)) {
      report("warning", "reserved", staging + "/" + name, "a reserved name in the archive; not restored");
      continue;
    }
    if (!move_in(staging_fd.get(), staging, name)) return false;
  }
  copy_folder_metadata(staging_fd.get(), st, fd_.get());
  // The journal and the cleanup change the root's mtime again: the staging
  // folder keeps the archive's times until cleanup() sets them last. (A
  // redone phase 2 finds them changed by the moves of the interrupted run:
  // only then is the root's mtime not the archive's.)
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(staging_fd.get(), times) != 0) report("warning", "metadata", staging, std::strerror(errno));
  return true;
}

// One staged entry to the root. What holds its name there can only be what
// an interrupted run of this same phase moved already: it is replaced.
bool VolumeRoot::move_in(int from, const std::string& staging, const std::string& name) const {
  if (::renameat(from, name.c_str(), fd_.get(), name.c_str()) == 0) return true;
  if (errno != EEXIST && errno != ENOTEMPTY && errno != EISDIR && errno != ENOTDIR) {
    return fail(staging + "/" + name, errno);
  }
  if (!remove_tree(fd_.get(), name)) return false;
  return ::renameat(from, name.c_str(), fd_.get(), name.c_str()) == 0 || fail(staging + "/" + name, errno);
}

// Removes the old content, the (empty) staging folder and the journal, then
// gives the root the times move_new() left on the staging folder: the
// removals were the last changes to the root. A partial restore leaves the
// root's times to the moves (its staging folder's are not the snapshot's).
bool VolumeRoot::cleanup(const std::string& id, bool whole) const {
  std::string journal = journal_name(id);
  std::string staging = staging_name(id);
  if (!remove_tree(fd_.get(), old_name(id))) return false;
  struct stat st {};
  bool staged = ::fstatat(fd_.get(), staging.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
  if (!remove_tree(fd_.get(), staging)) return false;
  if (::unlinkat(fd_.get(), journal.c_str(), 0) != 0 && errno != ENOENT) return fail(journal, errno);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (whole && staged && ::futimens(fd_.get(), times) != 0) report("warning", "metadata", "./", std::strerror(errno));
  return flush();
}

bool VolumeRoot::prepare() const {
  std::vector<std::string> names;
  if (!entries(names)) return false;
  for (const auto& name : names) {
    if (!name.starts_with(kJournalPrefix) || !is_ours(name) || !is_regular_file(fd_.get(), name)) continue;
    if (!finish_journal(name)) return false;
  }
  // What is left: staging or old content without a journal (a restore
  // killed before its swap, or during its cleanup).
  if (!entries(names)) return false;
  for (const auto& name : names) {
    if (!is_ours(name) || name.starts_with(kJournalPrefix)) continue;
    say("recovered=removed " + name + " left by an interrupted restore");
    if (!remove_tree(fd_.get(), name)) return false;
  }
  return report_state();
}

bool VolumeRoot::finish_journal(const std::string& name) const {
  if (name.ends_with(kTmpSuffix)) {
    // Never renamed into place: the phase it was to record never began.
    return ::unlinkat(fd_.get(), name.c_str(), 0) == 0 || errno == ENOENT || fail(name, errno);
  }
  std::string id = name.substr(kJournalPrefix.size());
  std::string phase;
  Paths paths;
  if (!read_journal(fd_.get(), name, phase, paths)) return fail(name, errno);
  say("recovered=finished the swap of an interrupted restore (" + id + ", phase " + phase +
      (paths.empty() ? "" : ", " + std::to_string(paths.size()) + " paths") + ")");
  if (finish_swap(id, phase, paths)) return true;
  report("error", "recover", name, "could not finish the interrupted swap " + id);
  return false;
}

bool VolumeRoot::report_state() const {
  std::vector<std::string> names;
  struct statvfs vfs {};
  if (!entries(names)) return false;
  if (::fstatvfs(fd_.get(), &vfs) != 0) return fail("./", errno);
  say("entries=" + std::to_string(names.size()));
  say("free_kb=" + std::to_string(static_cast<unsigned long long>(vfs.f_bavail) * vfs.f_frsize / 1024));
  return true;
}

bool VolumeRoot::fail(std::string_view path, int error) const {
  report("error", "swap", path, std::strerror(error));
  return false;
}

int prepare_command(const std::string& root) {
  VolumeRoot volume;
  return volume.open(root) && volume.prepare() ? 0 : 1;
}

int leftovers_command(const std::string& root) {
  VolumeRoot volume;
  std::vector<std::string> names;
  if (!volume.open(root) || !volume.entries(names)) return 1;
  for (const auto& name : names) {
    if (is_ours(name)) say(name);
  }
  return 0;
}

int remove_command(const std::string& root, const std::string& name) {
  VolumeRoot volume;
  return volume.open(root) && remove_tree(volume.fd(), name) ? 0 : 1;
}

int check_no_leftovers(const std::string& root) {
  VolumeRoot volume;
  std::vector<std::string> names;
  if (!volume.open(root) || !volume.entries(names)) return 1;
  for (const auto& name : names) {
    if (!is_ours(name)) continue;
    report("error", "leftover", name, "left by an interrupted restore; the volume needs a prepare first");
    return 113;
  }
  return 0;
}

}  // namespace dockform::helper
