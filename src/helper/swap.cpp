#include "swap.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dir.hpp"
#include "metadata.hpp"
#include "remove_tree.hpp"
#include "report.hpp"

namespace dockform::helper {

using names::kTmpSuffix;
using util::Fd;

namespace {

// A journal holds a digit and "\n"; more than this is not one of ours.
constexpr size_t kMaxJournalBytes = 64;

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

// The phase in a journal, trailing newlines cut (what `$(cat journal)` gave
// the shell version), or false.
bool read_journal(int root, const std::string& name, std::string& phase) {
  Fd fd(::openat(root, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return false;
  char buffer[kMaxJournalBytes];
  ssize_t n = 0;
  do {
    n = ::read(fd.get(), buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return false;
  phase.assign(buffer, static_cast<size_t>(n));
  while (!phase.empty() && phase.back() == '\n') phase.pop_back();
  return true;
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

bool VolumeRoot::set_phase(const std::string& id, char phase) const {
  std::string name = journal_name(id);
  std::string tmp = name + std::string(kTmpSuffix);
  Fd fd(::openat(fd_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail(tmp, errno);
  const char text[] = {phase, '\n'};
  if (!write_all(fd.get(), std::string_view(text, sizeof text)) || ::fsync(fd.get()) != 0 || fd.close() != 0) {
    return fail(tmp, errno);
  }
  if (::renameat(fd_.get(), tmp.c_str(), fd_.get(), name.c_str()) != 0) return fail(name, errno);
  return flush();
}

bool VolumeRoot::swap(const std::string& id) const {
  return set_phase(id, '1') && move_old(id) && set_phase(id, '2') && move_new(id) && set_phase(id, '3');
}

bool VolumeRoot::finish_swap(const std::string& id, std::string_view phase) const {
  if (phase == "1") {
    if (!move_old(id) || !set_phase(id, '2')) return false;
    phase = "2";
  }
  if (phase == "2" && (!move_new(id) || !set_phase(id, '3'))) return false;
  return cleanup(id);
}

// Phase 1: every entry that is not ours into .dockform-old-ID. A redone
// phase finds part of the content moved already.
bool VolumeRoot::move_old(const std::string& id) const {
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
bool VolumeRoot::move_new(const std::string& id) const {
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
// removals were the last changes to the root.
bool VolumeRoot::cleanup(const std::string& id) const {
  std::string journal = journal_name(id);
  std::string staging = staging_name(id);
  if (!remove_tree(fd_.get(), old_name(id))) return false;
  struct stat st {};
  bool staged = ::fstatat(fd_.get(), staging.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
  if (!remove_tree(fd_.get(), staging)) return false;
  if (::unlinkat(fd_.get(), journal.c_str(), 0) != 0 && errno != ENOENT) return fail(journal, errno);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (staged && ::futimens(fd_.get(), times) != 0) report("warning", "metadata", "./", std::strerror(errno));
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
  if (!read_journal(fd_.get(), name, phase)) return fail(name, errno);
  say("recovered=finished the swap of an interrupted restore (" + id + ", phase " + phase + ")");
  if (finish_swap(id, phase)) return true;
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
