// dockform-helper's extraction: any byte stream restores into a scratch
// folder or is refused, and nothing escapes it. The helper's messages go to
// /dev/null; sanitizers and libFuzzer report the rest.
#include <archive.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "extract.hpp"
#include "handles.hpp"
#include "report.hpp"

namespace {

// One scratch folder per process, emptied after every input. Leaked on
// purpose: the exit handler that removes it runs after static destructors.
const std::string& scratch() {
  static const std::string* dir = [] {
    auto* path = new std::string(std::filesystem::temp_directory_path() / "fuzz_helper_extract.XXXXXX");
    if (::mkdtemp(path->data()) == nullptr) ::abort();
    dockform::helper::set_report_fd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    std::atexit([] { std::filesystem::remove_all(scratch()); });
    return path;
  }();
  return *dir;
}

// Where libFuzzer was started: it writes crash files there.
int start_dir() {
  static const int fd = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

void remove_tree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (!error) return;
  // Restored modes (a folder 000) stop a user that is not root: open them up.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path, error)) {
    if (entry.is_directory(error) && !entry.is_symlink(error)) {
      std::filesystem::permissions(entry.path(), std::filesystem::perms::owner_all, error);
    }
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_all, error);
  std::filesystem::remove_all(path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int home = start_dir();
  const std::string dest = scratch() + "/dest";
  std::filesystem::create_directory(dest);
  {
    dockform::helper::ReadArchive reader(dockform::helper::new_tar_reader());
    if (archive_read_open_memory(reader.get(), data, size) == ARCHIVE_OK) {
      dockform::helper::extract(reader.get(), dest);
    }
  }
  // extract() moved into dest.
  if (::fchdir(home) != 0) ::abort();
  remove_tree(dest);
  return 0;
}
