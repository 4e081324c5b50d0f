#include "dockform/store/repo/repo_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "dockform/util/duration.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
constexpr std::chrono::milliseconds kPoll{100};

// What the other side is doing, for the waiting message and the error.
std::string holder(RepoLock::Mode mode) {
  return mode == RepoLock::Mode::shared ? "a prune collecting unused frames"
                                        : "snapshots into it or reads of its snapshots";
}
}  // namespace

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

RepoLock::RepoLock(const std::filesystem::path& root, Mode mode) {
  const auto path = root / "lock";
  util::Fd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    // A repository on read-only storage: nothing can collect in it either.
    if (mode == Mode::shared && (errno == EROFS || errno == EACCES)) return;
    throw Error("cannot open the repository lock " + path.string() + ": " + std::strerror(errno));
  }
  const int operation = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  const auto deadline = std::chrono::steady_clock::now() + repo_lock_wait();
  bool said = false;
  while (::flock(fd.get(), operation) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      throw Error("cannot lock " + path.string() + ": " + std::strerror(errno));
    }
    util::throw_if_interrupted();
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error("the repository " + root.string() + " is in use by " + holder(mode) + " (lock " + path.string() +
                      "); gave up waiting (DOCKFORM_REPO_LOCK_WAIT)",
                  Exit::refused);
    }
    if (!said) {
      std::cerr << "waiting for the repository " << root.string() << ": in use by " << holder(mode) << std::endl;
      said = true;
    }
    std::this_thread::sleep_for(kPoll);
  }
  fd_ = std::move(fd);
}

}  // namespace dockform::store
