#include "dockform/util/atomic_file.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "dockform/util/error.hpp"
#include "dockform/util/process.hpp"

namespace dockform::util {

namespace {
[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw Error(what + " " + path.string() + ": " + std::strerror(errno));
}

// The writer goes into the temporary's name ("<boot id>_<pid>_<start>_<random>")
// so that a later run can tell a killed writer's leftover from a live one's file.
std::string owner_tag() {
  std::string tag = my_owner_identity();
  for (auto& c : tag) {
    if (c == ':') c = '_';
  }
  return tag;
}

std::optional<std::string> owner_of_temp(const std::string& name) {
  if (name.rfind(kTempPrefix, 0) != 0) return std::nullopt;
  std::string rest = name.substr(kTempPrefix.size());
  auto last = rest.rfind('_');
  if (last == std::string::npos) return std::nullopt;
  std::string owner = rest.substr(0, last);
  for (auto& c : owner) {
    if (c == '_') c = ':';
  }
  return owner;
}
}  // namespace

void create_private_dirs(const std::filesystem::path& folder) {
  std::filesystem::path current;
  for (const auto& part : folder) {
    current /= part;
    if (current.empty() || current == current.root_path()) continue;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create folder", current);
  }
  struct stat info;
  if (::stat(folder.c_str(), &info) != 0) fail("cannot open folder", folder);
  if (!S_ISDIR(info.st_mode)) throw Error(folder.string() + " is not a folder");
}

void fsync_dir(const std::filesystem::path& folder) {
  Fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) fail("cannot open folder", folder);
  if (::fsync(fd.get()) != 0) fail("cannot sync folder", folder);
}

void remove_stale_temporaries(const std::filesystem::path& folder) {
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(folder, error)) {
    auto owner = owner_of_temp(item.path().filename().string());
    if (!owner || !owner_is_gone(*owner)) continue;
    if (::unlink(item.path().c_str()) == 0) {
      spdlog::warn("removed {} left by an interrupted run", item.path().string());
    }
  }
}

AtomicFile::AtomicFile(const std::filesystem::path& folder) : folder_(folder) {
  for (int attempt = 0; attempt < 16 && !fd_.valid(); ++attempt) {
    temp_ = folder_ / (std::string(kTempPrefix) + owner_tag() + "_" + random_id(10));
    fd_ = Fd(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd_.valid() && errno != EEXIST) fail("cannot create", temp_);
  }
  if (!fd_.valid()) fail("cannot create", temp_);
}

AtomicFile::~AtomicFile() {
  fd_.close();
  // The temporary goes in every case: after a commit the data lives on under its final name.
  ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_.get(), p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", temp_);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    written_ += static_cast<std::uint64_t>(n);
  }
}

void AtomicFile::finish() {
  if (!fd_.valid()) return;
  if (::fsync(fd_.get()) != 0) fail("cannot sync", temp_);
  if (fd_.close() != 0) fail("cannot close", temp_);
}

bool AtomicFile::commit(const std::string& name) {
  finish();
  auto final_path = folder_ / name;
  // link() fails with EEXIST instead of replacing: a concurrent writer that
  // picked the same name cannot be overwritten.
  if (::link(temp_.c_str(), final_path.c_str()) != 0) {
    if (errno == EEXIST) return false;
    fail("cannot create", final_path);
  }
  ::unlink(temp_.c_str());
  fsync_dir(folder_);
  return true;
}

bool write_new_file(const std::filesystem::path& folder, const std::string& name, std::string_view text) {
  AtomicFile file(folder);
  file.write(text);
  return file.commit(name);
}

}  // namespace dockform::util
