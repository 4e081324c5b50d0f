#pragma once
// `volume ls`: a snapshot's members without restoring it. A seekable
// snapshot (docs/snapshot-format.md) is listed from its index, reading only
// the file's tail (local, in a bucket by ranged GETs, inside age by single
// chunks); others (one frame, other tools, standard input) with one
// sequential pass.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dockform/archive/seekable.hpp"
#include "dockform/archive/sidecar.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/store/location.hpp"

namespace dockform::ops {

// A sequential pass's members.
struct Listing {
  std::vector<archive::Member> members;  // in archive order
  std::uint64_t bytes_read = 0;          // of the snapshot file
};

// A seekable snapshot opened for reads at random offsets, with its index.
struct Seekable {
  std::unique_ptr<archive::RandomAccess> file;  // the tar.zst (decrypted when it is .tar.zst.age)
  archive::SeekableIndex index;
  std::uint64_t stored_size = 0;  // the file's size as stored
};

// The snapshot with its index, keeping of the index's members only those at
// or below `paths` (all when empty), decoded one at a time: extract's memory
// does not grow with the snapshot's members. nullopt for a snapshot without
// an index (or a stream, or a plain .tar). Throws Error when it cannot be
// read, Error (usage) naming a path that matches no member,
// crypto::age::AgeError (refused) when no identity opens an encrypted one.
std::optional<Seekable> open_seekable(const store::Location& file, const std::vector<crypto::age::Identity>& identities,
                                      const std::vector<std::string>& paths);
// The same, with the index checked against `sidecar`, which the caller has
// read already (nullopt: the snapshot has none), rather than reading it again.
std::optional<Seekable> open_seekable(const store::Location& file, const std::vector<crypto::age::Identity>& identities,
                                      const std::vector<std::string>& paths,
                                      const std::optional<archive::Sidecar>& sidecar);
// The same for `file` opened already (`opened`: a plain .tar.zst read at random).
std::optional<Seekable> open_seekable(std::unique_ptr<archive::RandomAccess> opened, const store::Location& file,
                                      const std::optional<archive::Sidecar>& sidecar);

// The members at or below `paths` (all when empty) from one pass through the
// whole stream, after a warning that says so: for a snapshot without an index.
Listing list_sequentially(const store::Location& file, const std::vector<std::string>& paths,
                          const std::vector<crypto::age::Identity>& identities);

// The members of `members` at or below `paths` (all when empty), in archive
// order; a path without any is an Error (usage).
std::vector<archive::Member> members_below(std::vector<archive::Member> members, const std::vector<std::string>& paths);

// What a listing read, known before its first member.
struct ListingFacts {
  bool from_index = false;       // false: one sequential pass
  std::uint64_t bytes_read = 0;  // of the snapshot file
  std::uint64_t file_size = 0;   // when from the index
};
using ListingStart = std::function<void(const ListingFacts&)>;

// `volume ls`: calls `start` once, then `visit` with each member at or below
// each of `paths` ("etc", "./etc/" and "/etc" name the same folder; none:
// all), in archive order. From an index one member is held at a time (100,000
// members list in little memory). Throws Error (usage) naming a path that
// matches no member, after the members of the others.
void list_snapshot(const store::Location& file, const std::vector<std::string>& paths,
                   const std::vector<crypto::age::Identity>& identities, const ListingStart& start,
                   const archive::MemberSink& visit);

// The members at or below some of `paths` (all when there are none), one by
// one; check_found then names a path that matched none.
class PathFilter {
 public:
  explicit PathFilter(const std::vector<std::string>& paths);
  bool keep(const archive::Member& member);
  // Throws Error (usage): "not in the snapshot: PATH".
  void check_found() const;

 private:
  std::vector<std::string> paths_;
  std::vector<std::string> wanted_;  // normalised
  std::vector<bool> found_;
};

// True when `member_path` (as stored) is `wanted` (normalised) or lies below it.
bool is_at_or_below(const std::string& member_path, const std::string& wanted);

}  // namespace dockform::ops
