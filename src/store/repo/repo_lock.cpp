#include "dockform/store/repo/repo_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "dockform/store/repo/repo_files.hpp"
#include "dockform/util/duration.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
constexpr std::chrono::milliseconds kPoll{100};

class FolderLock : public RepoLockHold {
 public:
  explicit FolderLock(util::Fd fd) : fd_(std::move(fd)) {}

 private:
  util::Fd fd_;  // closing it releases the lock
};
}  // namespace

std::string repo_lock_holder(RepoLock::Mode wanted) {
  return wanted == RepoLock::Mode::shared ? "a prune collecting unused frames"
                                          : "snapshots into it or reads of its snapshots";
}

RepoLock::RepoLock(RepoFiles& files, Mode mode) : hold_(files.lock(mode)) {}
RepoLock::~RepoLock() = default;

void RepoLock::check_held() const {
  if (hold_) hold_->check_held();
}

std::chrono::seconds repo_lock_wait() {
  const char* set = std::getenv("DOCKFORM_REPO_LOCK_WAIT");
  if (set == nullptr || *set == '\0') return std::chrono::hours(1);
  auto seconds = util::parse_duration(set);
  if (!seconds) {
    throw Error(std::string("DOCKFORM_REPO_LOCK_WAIT=") + set +
                    ": expected a duration (30s, 10m, 1h), how long to wait for a repository in use",
                Exit::usage);
  }
  return std::chrono::seconds(*seconds);
}

std::unique_ptr<RepoLockHold> lock_folder(const std::filesystem::path& root, RepoLock::Mode mode) {
  const auto path = root / "lock";
  util::Fd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    // A repository on read-only storage: nothing can collect in it either.
    if (mode == RepoLock::Mode::shared && (errno == EROFS || errno == EACCES)) return nullptr;
    throw Error("cannot open the repository lock " + path.string() + ": " + std::strerror(errno));
  }
  const int operation = (mode == RepoLock::Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  const auto deadline = std::chrono::steady_clock::now() + repo_lock_wait();
  bool said = false;
  while (::flock(fd.get(), operation) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      throw Error("cannot lock " + path.string() + ": " + std::strerror(errno));
    }
    util::throw_if_interrupted();
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error("the repository " + root.string() + " is in use by " + repo_lock_holder(mode) + " (lock " +
                      path.string() + "); gave up waiting (DOCKFORM_REPO_LOCK_WAIT)",
                  Exit::refused);
    }
    if (!said) {
      std::cerr << "waiting for the repository " << root.string() << ": in use by " << repo_lock_holder(mode)
                << std::endl;
      said = true;
    }
    std::this_thread::sleep_for(kPoll);
  }
  return std::make_unique<FolderLock>(std::move(fd));
}

}  // namespace dockform::store
