#pragma once
// A deduplicated repository in a local folder or under s3://BUCKET/PREFIX
// (docs/storage.md, repo_files.hpp): the frames of
// seekable snapshots (docs/snapshot-format.md) stored once each in pack files,
// and per snapshot a recipe (its frames in order) and its sidecar. Any snapshot
// reads back as the exact standalone .tar.zst it was.
//
//   DIR/config                          JSON: format, version, id, chunker
//   DIR/packs/<sha256>.pack             frames back to back
//   DIR/index/<sha256>.json             that pack's frames: id, offset, length
//   DIR/snapshots/<volume>/<stem>.recipe the snapshot's frames in order
//   DIR/snapshots/<volume>/<stem>.json   its sidecar, written last
//
// A snapshot is named DIR/<volume>/<stem>.tar.zst (a path that exists only in
// the repository): every command that takes a snapshot file takes that name.
// Every function here names the repository's files through RepoFiles.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/archive/chunker.hpp"
#include "dockform/archive/seekable.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/crypto/age.hpp"
#include "dockform/store/repo/repo_files.hpp"
#include "dockform/store/store.hpp"

namespace dockform::util {
class Sha256;
}  // namespace dockform::util

namespace dockform::store {

inline constexpr const char* kRepoConfigName = "config";
inline constexpr const char* kRepoFormat = "dockform-repository";
inline constexpr int kRepoVersion = 1;
// A pack is sealed once it holds this much: few, large files (objects on S3 later).
inline constexpr std::uint64_t kPackTarget = 32ull << 20;

// Cuts a snapshot file's bytes, as they come in pieces, into its zstd frames
// (data frames and skippable ones). A seekable snapshot's frames are at most
// a few MiB; a stream that is no sequence of frames is refused.
class FrameSplitter {
 public:
  using OnFrame = std::function<void(std::string_view frame)>;
  explicit FrameSplitter(OnFrame on_frame) : on_frame_(std::move(on_frame)) {}
  void write(const void* data, std::size_t size);
  // Nothing held back: the next write starts a frame.
  bool at_boundary() const { return pending_.size() == start_; }
  // Throws Error when bytes are left that form no whole frame.
  void finish();

 private:
  void emit_complete();
  OnFrame on_frame_;
  std::string pending_;
  std::size_t start_ = 0;  // where pending_'s first unsent frame starts
};

// One frame in a recipe: its id (hex SHA-256 of its bytes as stored) and size.
struct RecipeFrame {
  std::string id;
  std::uint32_t length = 0;
};

struct Recipe {
  std::string sha256;  // hex SHA-256 of the whole file
  std::uint64_t size = 0;
  std::vector<RecipeFrame> frames;
  int level = 0;  // the zstd level its data frames were made at; 0: not recorded (before 2026-12-07)
};
std::string encode_recipe(const Recipe& recipe);
// Throws Error (refused) naming `source` when malformed or inconsistent.
Recipe decode_recipe(const std::string& text, const std::string& source);

// Where a frame lies: pack number (into PackIndex::packs), offset, length.
struct FrameLocation {
  std::uint64_t offset = 0;
  std::uint32_t pack = 0;
  std::uint32_t length = 0;
};
struct PackEntry {
  std::string id;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
};
// An index file lists the frames of one or more packs: a snapshot writes one
// for up to kPacksPerIndex packs it sealed (not one per pack: a bucket then
// serves a repository of 1 TB in a few hundred GETs, not 30,000).
inline constexpr std::size_t kPacksPerIndex = 64;
struct IndexedPack {
  std::string pack;
  std::vector<PackEntry> entries;
};
// Version 2 (several packs); version 1 files (one pack each, before
// 2026-12-07) are still read.
std::string encode_pack_index(const std::vector<IndexedPack>& packs);
// Throws Error (refused) when malformed.
std::vector<IndexedPack> decode_pack_index(const std::string& text, const std::string& source);
// Writes an index file of `packs` (durable), named by its content's SHA-256;
// returns its name (an existing file of that name lists the same).
std::string write_pack_index(RepoFiles& files, const std::vector<IndexedPack>& packs);

// The pack being filled: invisible until sealed (a hidden temporary in a
// folder, memory for a bucket). A full pack (kPackTarget) is sealed as frames
// come, on a thread of its own while the next one fills (an fsync, or a PUT
// of 32 MiB, no longer holds the snapshot's stream up): one at a time, so a
// bucket's writer holds at most two packs.
class PackWriter {
 public:
  // `background` false: every pack sealed on the caller's thread (the
  // collection, whose kill tests count its links in one thread).
  explicit PackWriter(RepoFiles& files, bool background = true);
  // Waits for a pack being sealed (its error is lost: the caller is failing already).
  ~PackWriter();
  void add(const std::string& id, std::string_view bytes);
  // Starts making the pack durable under the hash of its frames' ids, after
  // the previous one is (rethrowing its error); its index waits
  // (kPacksPerIndex packs share one).
  void seal();
  // Seals the pack being filled, then writes the index of every pack sealed
  // since the last: only then may a recipe name their frames.
  void finish();
  // The names of the packs sealed so far (also those that existed already).
  const std::vector<std::string>& sealed() const { return sealed_; }

 private:
  void write_index();
  // Waits until the pack being sealed is durable, then counts it for the index.
  void wait_sealing();
  std::vector<std::string> sealed_;
  std::vector<IndexedPack> unindexed_;  // sealed, their index not yet written
  RepoFiles& files_;
  // The packs' own: a bucket's client then serves one thread only.
  std::unique_ptr<RepoFiles> pack_files_;
  bool background_;
  std::future<void> sealing_;
  IndexedPack in_flight_;  // the pack `sealing_` makes durable
  std::unique_ptr<PackOutput> file_;
  std::unique_ptr<util::Sha256> sha_;
  std::vector<PackEntry> entries_;
};

// Every frame the repository's pack indexes list.
// Every stored frame's place, held as a sorted array of binary ids: 48
// bytes a frame (a hash map of hex strings took about 170), so the index of
// a 1 TB repository of 1 MiB frames fits in 48 MiB.
class PackIndex {
 public:
  // One pack's entries; find() sees them after sort().
  void add(const std::string& pack, const std::vector<PackEntry>& entries);
  // Orders the entries added; of a frame stored in two packs, the first
  // pack added is kept.
  void sort();
  // nullptr for an id not stored (or not a SHA-256 in hex). Throws
  // std::logic_error when entries were added after the last sort().
  const FrameLocation* find(const std::string& id) const;
  const std::string& pack_name(std::uint32_t pack) const { return packs_.at(pack); }
  std::size_t frame_count() const { return frames_.size(); }

  struct Frame {
    std::array<unsigned char, 32> id;
    FrameLocation where;
  };

 private:
  std::vector<std::string> packs_;
  std::vector<Frame> frames_;  // by id once sorted
  bool sorted_ = true;
};

// A repository file's bytes (a recipe, a pack index); throws Error when it
// cannot be read.
std::string read_repo_file(RepoFiles& files, const std::string& name);

// Whether `root` holds a repository's config (one GET for a bucket).
bool is_repository(const Location& root);
bool is_repository(RepoFiles& files);
// An encrypted repository's keys (repo_keys.hpp): whom it is sealed to, and
// where this host keeps its key ("": repository_key_file()).
struct RepoEncryption {
  std::vector<crypto::age::Recipient> recipients;  // empty: a plain repository
  std::string key_file;
};
// Makes a repository (in an empty or missing folder, or an empty prefix),
// whose snapshots are cut to archive::kRepoChunks; throws Error (usage) otherwise.
// Returns the key file written for an encrypted one ("" for a plain one).
std::string init_repository(RepoFiles& files, const RepoEncryption& encryption = {});
// The frame sizes the repository's config records (kFileChunks when it
// records none); throws Error (refused) for sizes no reader takes.
archive::ChunkSizes repo_chunk_sizes(RepoFiles& files);
// Reads every pack index of the repository.
PackIndex load_pack_index(RepoFiles& files);

// A snapshot named inside a repository: <root>/<volume>/<stem>.tar.zst.
struct RepoRef {
  Location root;
  std::string volume;
  std::string stem;
  // Names inside the repository (RepoFiles).
  std::string recipe() const { return "snapshots/" + volume + "/" + stem + ".recipe"; }
  std::string sidecar() const { return "snapshots/" + volume + "/" + stem + ".json"; }
  std::string text() const { return (root / volume / (stem + ".tar.zst")).text(); }
};
// The ref `file` names, when its folder's parent is a repository.
std::optional<RepoRef> repository_ref(const Location& file);

std::unique_ptr<Store> open_repo_store(const Location& base);
// The snapshot as the standalone .tar.zst, each frame checked against its id
// as it is read (a damaged one: exit 3, "checksum mismatch").
std::unique_ptr<archive::ByteSource> open_repo_snapshot(const RepoRef& ref);
std::unique_ptr<archive::RandomAccess> open_repo_random_access(const RepoRef& ref);
// The same for a caller that holds the lock and has read the pack indexes.
std::unique_ptr<archive::RandomAccess> open_repo_random_access(RepoFiles& files, const PackIndex& index,
                                                               const RepoRef& ref);

// `verify --no-read-data` of a repository snapshot: its recipe against the
// pack indexes and the packs' sizes, reading no frame.
struct RecipeCheck {
  std::string sha256;  // the file's, as the recipe records it
  std::uint64_t size = 0;
  std::vector<std::string> problems;  // frames missing, or packs too short to hold them
  // The snapshot read at random from the same recipe and pack indexes.
  std::unique_ptr<archive::RandomAccess> file;
};
// Throws Error when the snapshot is missing, Error (refused) when its recipe
// is malformed.
RecipeCheck check_recipe(const RepoRef& ref);

// Removes the frames no finished snapshot uses (src/store/repo/repo_collect.cpp),
// holding the repository lock alone; with `dry_run` only counts them. A pack
// with at least `repack_percent` (0 to 100) of its bytes unused is rewritten.
// Throws Error (refused) for a damaged recipe or frame, having removed nothing.
Collected collect_unused_frames(RepoFiles& files, bool dry_run, int repack_percent = kRepackUnusedPercent);
// The same for a caller that holds the lock already (`held`: alone, or
// shared for a dry run), as a prune does from before its retention.
Collected collect_unused_frames(RepoFiles& files, const RepoLock& held, bool dry_run, int repack_percent);

// A volume's snapshots in the repository, by stem, oldest first (a stem
// starts with its UTC time): `finished` those whose recipe has its sidecar,
// `unfinished` the recipes without one (a snapshot killed before it finished).
struct VolumeSnapshots {
  std::vector<std::string> finished;
  std::vector<std::string> unfinished;
};
VolumeSnapshots volume_snapshots(RepoFiles& files, const std::string& volume);

// The bytes of every file of the repository (its lock objects aside).
std::uint64_t repo_stored_bytes(RepoFiles& files);

struct RepoStats {
  std::uint64_t snapshots = 0;
  std::uint64_t packs = 0;
  std::uint64_t frames = 0;
  std::uint64_t stored_bytes = 0;   // every file of the repository
  std::uint64_t logical_bytes = 0;  // the snapshots' standalone sizes, summed
  bool encrypted = false;           // repo init -r (repo_keys.hpp)
};
RepoStats repo_stats(RepoFiles& files);

}  // namespace dockform::store
