#include "dockform/ops/browse.hpp"

#include <spdlog/spdlog.h>

#include "dockform/archive/age_file.hpp"
#include "dockform/archive/sidecar.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/error.hpp"

namespace dockform::ops {

bool is_at_or_below(const std::string& member_path, const std::string& wanted) {
  if (wanted.empty()) return true;
  std::string path = archive::normalise_member_path(member_path);
  return path.size() >= wanted.size() && path.compare(0, wanted.size(), wanted) == 0 &&
         (path.size() == wanted.size() || path[wanted.size()] == '/');
}

namespace {
// Every member, from one pass through the whole (decompressed, decrypted) stream.
std::vector<archive::Member> walk_members(const store::Location& file,
                                          const std::vector<crypto::age::Identity>& identities,
                                          std::uint64_t& bytes_read) {
  auto source = store::open_snapshot(file);
  auto format = archive::detect_format(*source);
  auto reader = archive::open_reader(*source, format, identities);
  archive::TarWalker walker([&reader] { return reader->next_block(); });
  std::vector<archive::Member> members;
  std::uint64_t header = 0;
  std::int64_t data = 0;
  auto inspect = [&data](const archive::TarEntry&, std::int64_t offset) { data = offset; };
  while (auto entry = walker.next(inspect)) {
    members.push_back(archive::member_of(*entry, header, static_cast<std::uint64_t>(data)));
    header = static_cast<std::uint64_t>(walker.consumed());
  }
  bytes_read = reader->bytes_read();
  return members;
}

}  // namespace

Listing list_sequentially(const store::Location& file, const std::vector<std::string>& paths,
                          const std::vector<crypto::age::Identity>& identities) {
  spdlog::warn(
      "{} has no member index (an older or another tool's snapshot, or standard input): "
      "reading it whole, in one sequential pass",
      file.text());
  Listing listing;
  listing.members = members_below(walk_members(file, identities, listing.bytes_read), paths);
  return listing;
}

PathFilter::PathFilter(const std::vector<std::string>& paths) : paths_(paths), found_(paths.size(), false) {
  for (const auto& path : paths) wanted_.push_back(archive::normalise_member_path(path));
}

bool PathFilter::keep(const archive::Member& member) {
  if (wanted_.empty()) return true;
  bool keep = false;
  for (std::size_t i = 0; i < wanted_.size(); ++i) {
    if (is_at_or_below(member.path, wanted_[i])) keep = found_[i] = true;
  }
  return keep;
}

void PathFilter::check_found() const {
  for (std::size_t i = 0; i < wanted_.size(); ++i) {
    if (!found_[i]) throw Error("not in the snapshot: " + paths_[i], Exit::usage);
  }
}

// The members below `paths`, in archive order; a path without any is an error.
std::vector<archive::Member> members_below(std::vector<archive::Member> members,
                                           const std::vector<std::string>& paths) {
  PathFilter filter(paths);
  std::vector<archive::Member> out;
  for (auto& member : members) {
    if (filter.keep(member)) out.push_back(std::move(member));
  }
  filter.check_found();
  return out;
}
namespace {
// What the name (and for a local file its first bytes) says the snapshot is.
std::optional<archive::SnapshotFormat> format_of(const store::Location& file) {
  if (file.is_stream()) return std::nullopt;
  // A repository's snapshot has no file of its own; repositories hold .tar.zst only.
  if (store::repository_ref(file)) return archive::SnapshotFormat::tar_zst;
  if (file.is_local()) return archive::detect_format(file.path());
  if (file.text().ends_with(".tar.zst.age")) return archive::SnapshotFormat::tar_zst_age;
  if (file.text().ends_with(".tar.zst")) return archive::SnapshotFormat::tar_zst;
  return std::nullopt;
}

// The index against the sidecar's record of it (docs/snapshot-format.md):
// with it, the seek table, and through it every frame a read uses, is
// authenticated down to the sidecar. Without a sidecar (or one written before
// the index existed) the index is only checked against itself.
void check_recorded(const std::optional<std::string>& recorded, const std::string& sidecar, const store::Location& file,
                    const archive::SeekableIndex& index) {
  if (recorded && *recorded != index.index_sha256) {
    throw Error("checksum mismatch: " + sidecar + " says " + *recorded + " for the index of " + file.text() +
                    ", the file has " + index.index_sha256,
                Exit::refused);
  }
}

void check_index(const store::Location& file, const archive::SeekableIndex& index) {
  auto source = store::open_snapshot(file);
  auto found = archive::find_sidecar(*source);
  if (!found) return;
  check_recorded(archive::parse_sidecar(found->text, found->location).index_sha256, "sidecar " + found->location, file,
                 index);
}
}  // namespace

namespace {
// The snapshot opened for reads at random offsets (decrypted when it is
// .tar.zst.age), its index not read yet; nullopt when it cannot be seekable.
std::optional<Seekable> open_ranges(const store::Location& file, const std::vector<crypto::age::Identity>& identities) {
  auto format = format_of(file);
  if (format != archive::SnapshotFormat::tar_zst && format != archive::SnapshotFormat::tar_zst_age) {
    return std::nullopt;
  }
  if (format == archive::SnapshotFormat::tar_zst_age && identities.empty()) {
    throw Error("snapshot " + file.text() +
                    " is encrypted (age): give its key with --identity FILE or its passphrase with "
                    "--passphrase-file FILE",
                Exit::usage);
  }
  Seekable seekable;
  seekable.file = store::open_random_access(file);
  if (!seekable.file) return std::nullopt;
  seekable.stored_size = seekable.file->size();
  if (format == archive::SnapshotFormat::tar_zst_age) {
    seekable.file = std::make_unique<archive::AgeFile>(std::move(seekable.file), identities);
  }
  return seekable;
}

std::optional<Seekable> open_checked(std::optional<Seekable> seekable, const std::vector<std::string>& paths,
                                     const archive::IndexCheck& check) {
  if (!seekable) return std::nullopt;
  PathFilter filter(paths);
  std::vector<archive::Member> members;
  auto keep = [&](const archive::Member& member) {
    if (filter.keep(member)) members.push_back(member);
  };
  auto index = archive::read_seekable_index(*seekable->file, check, keep);
  if (!index) return std::nullopt;
  filter.check_found();
  seekable->index = std::move(*index);
  seekable->index.members = std::move(members);
  return seekable;
}
}  // namespace

std::optional<Seekable> open_seekable(const store::Location& file, const std::vector<crypto::age::Identity>& identities,
                                      const std::vector<std::string>& paths) {
  return open_checked(open_ranges(file, identities), paths,
                      [&file](const archive::SeekableIndex& read) { check_index(file, read); });
}

std::optional<Seekable> open_seekable(const store::Location& file, const std::vector<crypto::age::Identity>& identities,
                                      const std::vector<std::string>& paths,
                                      const std::optional<archive::Sidecar>& sidecar) {
  return open_checked(open_ranges(file, identities), paths, [&](const archive::SeekableIndex& read) {
    if (sidecar) check_recorded(sidecar->index_sha256, "the snapshot's sidecar", file, read);
  });
}

std::optional<Seekable> open_seekable(std::unique_ptr<archive::RandomAccess> opened, const store::Location& file,
                                      const std::optional<archive::Sidecar>& sidecar) {
  Seekable seekable;
  seekable.file = std::move(opened);
  seekable.stored_size = seekable.file->size();
  return open_checked(std::move(seekable), {}, [&](const archive::SeekableIndex& read) {
    if (sidecar) check_recorded(sidecar->index_sha256, "the snapshot's sidecar", file, read);
  });
}

void list_snapshot(const store::Location& file, const std::vector<std::string>& paths,
                   const std::vector<crypto::age::Identity>& identities, const ListingStart& start,
                   const archive::MemberSink& visit) {
  PathFilter filter(paths);
  if (auto seekable = open_ranges(file, identities)) {
    // Checked against the sidecar before a member is given; then all that is read is read.
    auto check = [&](const archive::SeekableIndex& index) {
      check_index(file, index);
      start({true, seekable->file->bytes_read(), seekable->stored_size});
    };
    auto keep = [&](const archive::Member& member) {
      if (filter.keep(member)) visit(member);
    };
    if (archive::read_seekable_index(*seekable->file, check, keep)) {
      filter.check_found();
      return;
    }
  }
  auto listing = list_sequentially(file, paths, identities);
  start({false, listing.bytes_read, 0});
  for (const auto& member : listing.members) visit(member);
}

}  // namespace dockform::ops
