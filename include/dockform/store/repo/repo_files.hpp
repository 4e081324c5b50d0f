#pragma once
// Where a repository's files are kept: a local folder or a prefix in a bucket
// (s3://BUCKET/PREFIX). The repository code names its files relative to the
// root ("config", "packs/<id>.pack", "index/<id>.json",
// "snapshots/<volume>/<stem>.recipe") and never asks which kind it has: the
// write order and the crash rules (docs/storage.md) are the same on both.
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/store/location.hpp"
#include "dockform/store/repo/repo_lock.hpp"

namespace dockform::store {

// A pack being written: invisible to readers until committed under its name.
class PackOutput {
 public:
  virtual ~PackOutput() = default;
  virtual void write(std::string_view bytes) = 0;
  virtual std::uint64_t bytes_written() const = 0;
  // Durable under packs/<name>.pack; a pack of that name already there holds
  // the same frames (packs are named by their frames' ids) and is kept.
  virtual void commit(const std::string& name) = 0;
};

class RepoFiles {
 public:
  struct Entry {
    std::string name;  // relative to the root
    std::uint64_t size = 0;
    std::time_t modified = 0;
  };

  virtual ~RepoFiles() = default;
  // The root, as messages and refs show it.
  virtual const Location& root() const = 0;
  // `name` as messages show it (a path or a URL).
  std::string show(const std::string& name) const { return (root() / name).text(); }

  // The whole file; nullopt when there is none.
  virtual std::optional<std::string> read(const std::string& name) = 0;
  // `length` bytes at `offset`; throws Error (refused, "checksum mismatch")
  // when the file is shorter.
  virtual std::string read_range(const std::string& name, std::uint64_t offset, std::size_t length) = 0;
  virtual std::optional<std::uint64_t> size(const std::string& name) = 0;
  // Writes the file durably, only if none has the name: false when one has.
  virtual bool write_new(const std::string& name, std::string_view bytes) = 0;
  virtual void remove(const std::string& name) = 0;
  // The finished files directly in `folder` (temporaries are hidden), sorted by name.
  virtual std::vector<Entry> list(const std::string& folder) = 0;
  // The folders directly in `folder`, sorted.
  virtual std::vector<std::string> folders(const std::string& folder) = 0;
  // Makes the names created or removed in `folder` durable (a folder's fsync).
  virtual void sync(const std::string& folder) = 0;
  // Makes the folders a writer needs and removes what killed writers left.
  virtual void prepare(const std::vector<std::string>& folders) = 0;
  virtual std::unique_ptr<PackOutput> new_pack() = 0;
  // Waits for the repository lock (repo_lock.hpp: DOCKFORM_REPO_LOCK_WAIT).
  virtual std::unique_ptr<RepoLockHold> lock(RepoLock::Mode mode) = 0;

  // A frame's or an index file's id: the hex SHA-256 of its bytes, in an
  // encrypted repository their HMAC-SHA-256 under its key (repo_keys.hpp).
  virtual std::string content_id(std::string_view bytes);
  // Whether stored frames can be read here: a writer of an encrypted
  // repository that holds only its key stores frames it cannot read.
  virtual bool reads_frames() { return true; }
  // Whether the repository is encrypted (its files sealed as they are written).
  virtual bool sealed() { return false; }
};

// The files under `root`: a local folder or s3://BUCKET/PREFIX. Touches nothing yet.
// In an encrypted repository (its config says so, read when first needed)
// packs, pack indexes and recipes are sealed and opened in the age format as
// they are written and read; every other file is as stored.
std::unique_ptr<RepoFiles> open_repo_files(const Location& root);
// The same files as stored, nothing opened (the keys, the config).
std::unique_ptr<RepoFiles> open_stored_repo_files(const Location& root);

}  // namespace dockform::store
