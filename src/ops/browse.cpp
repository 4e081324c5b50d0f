#include "dockform/ops/browse.hpp"

#include <spdlog/spdlog.h>

#include "dockform/archive/snapshot_file.hpp"
#include "dockform/archive/tar_walker.hpp"
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

// The members below `paths`, in archive order; a path without any is an error.
std::vector<archive::Member> members_below(std::vector<archive::Member> members,
                                           const std::vector<std::string>& paths) {
  if (paths.empty()) return members;
  std::vector<std::string> wanted;
  for (const auto& path : paths) wanted.push_back(archive::normalise_member_path(path));
  std::vector<bool> found(wanted.size(), false);
  std::vector<archive::Member> out;
  for (auto& member : members) {
    bool keep = false;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (is_at_or_below(member.path, wanted[i])) keep = found[i] = true;
    }
    if (keep) out.push_back(std::move(member));
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (!found[i]) throw Error("not in the snapshot: " + paths[i], Exit::usage);
  }
  return out;
}
}  // namespace

Listing list_snapshot(const store::Location& file, const std::vector<std::string>& paths,
                      const std::vector<crypto::age::Identity>& identities) {
  Listing listing;
  if (auto ranges = store::open_random_access(file)) {
    auto& local = *ranges;
    listing.file_size = local.size();
    if (auto index = archive::read_seekable_index(local)) {
      listing.from_index = true;
      listing.bytes_read = local.bytes_read();
      listing.members = members_below(std::move(index->members), paths);
      return listing;
    }
  }
  spdlog::warn(
      "{} has no member index (an older or another tool's snapshot, or not a local .tar.zst): "
      "reading it whole, in one sequential pass",
      file.text());
  listing.members = members_below(walk_members(file, identities, listing.bytes_read), paths);
  return listing;
}

}  // namespace dockform::ops
