#pragma once
// A file that appears under its final name only when complete: data goes to a
// hidden temporary in the same folder (created 0600), is fsynced, then linked
// to the final name without ever replacing an existing file, and the folder is
// fsynced. Destroying an uncommitted AtomicFile removes the temporary.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "dockform/util/fd.hpp"

namespace dockform::util {

// Prefix of every temporary name: listing and pruning must ignore these.
inline constexpr std::string_view kTempPrefix = ".dockform-tmp-";

class AtomicFile {
 public:
  explicit AtomicFile(const std::filesystem::path& folder);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void write(std::string_view data) { write(data.data(), data.size()); }
  std::uint64_t bytes_written() const { return written_; }

  // fsyncs and closes the data; call once before commit attempts.
  void finish();
  // Links the finished file to `name` in the folder. Returns false (and keeps
  // the temporary) when `name` already exists; never overwrites.
  bool commit(const std::string& name);
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  std::filesystem::path folder_;
  std::filesystem::path temp_;
  Fd fd_;
  std::uint64_t written_ = 0;
};

// Creates the folder and its missing parents with mode 0700.
void create_private_dirs(const std::filesystem::path& folder);
void fsync_dir(const std::filesystem::path& folder);
// Removes the temporaries in `folder` whose writer was killed (a process of
// this machine that no longer runs); a live writer's temporary stays.
void remove_stale_temporaries(const std::filesystem::path& folder);
// Writes `text` to folder/name atomically (0600); false if the name exists.
bool write_new_file(const std::filesystem::path& folder, const std::string& name, std::string_view text);

}  // namespace dockform::util
