#include "dockform/store/repo/repository.hpp"

#include <zstd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "dockform/archive/chunker.hpp"
#include "dockform/store/repo/repo_keys.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/process.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::store {

namespace {
// A compressed frame of at most 4 MiB of tar (the chunker's maximum) is
// smaller than this; more bytes without a frame end are no seekable snapshot.
constexpr std::size_t kMaxFrame = 16u << 20;

bool is_hex_id(const std::string& id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}
}  // namespace

void FrameSplitter::write(const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  // Nothing held back: the whole frames go from the input as they are (a
  // snapshot writes one frame a call), only a partial one is kept.
  if (pending_.size() == start_) {
    pending_.clear();
    start_ = 0;
    for (;;) {
      std::size_t frame = ZSTD_findFrameCompressedSize(bytes, size);
      if (size == 0 || ZSTD_isError(frame) || frame > size) break;
      on_frame_(std::string_view(bytes, frame));
      bytes += frame;
      size -= frame;
    }
  }
  pending_.append(bytes, size);
  emit_complete();
}

void FrameSplitter::emit_complete() {
  while (pending_.size() > start_) {
    std::size_t left = pending_.size() - start_;
    std::size_t size = ZSTD_findFrameCompressedSize(pending_.data() + start_, left);
    if (ZSTD_isError(size) || size > left) {
      if (left > kMaxFrame) throw Error("the snapshot is no sequence of zstd frames of a few MiB", Exit::refused);
      break;  // the frame's end has not come yet
    }
    on_frame_(std::string_view(pending_).substr(start_, size));
    start_ += size;
  }
  // Keeps the buffer from growing: the sent frames are dropped once they are most of it.
  if (start_ > 0 && start_ >= pending_.size() / 2) {
    pending_.erase(0, start_);
    start_ = 0;
  }
}

void FrameSplitter::finish() {
  emit_complete();
  if (pending_.size() != start_) throw Error("the snapshot ends inside a zstd frame", Exit::refused);
}

std::string encode_recipe(const Recipe& recipe) {
  auto frames = nlohmann::ordered_json::array();
  for (const auto& frame : recipe.frames) frames.push_back({frame.id, frame.length});
  nlohmann::ordered_json out{
      {"format", "dockform-recipe"}, {"version", kRepoVersion}, {"size", recipe.size}, {"sha256", recipe.sha256}};
  if (recipe.level > 0) out["level"] = recipe.level;
  out["frames"] = frames;
  return out.dump() + "\n";
}

Recipe decode_recipe(const std::string& text, const std::string& source) {
  Recipe recipe;
  try {
    auto in = nlohmann::json::parse(text);
    if (in.at("format") != "dockform-recipe" || in.at("version") != kRepoVersion) throw Error("unknown format");
    recipe.size = in.at("size").get<std::uint64_t>();
    recipe.sha256 = in.at("sha256").get<std::string>();
    if (in.contains("level")) recipe.level = in.at("level").get<int>();
    std::uint64_t total = 0;
    for (const auto& frame : in.at("frames")) {
      RecipeFrame one{frame.at(0).get<std::string>(), frame.at(1).get<std::uint32_t>()};
      if (!is_hex_id(one.id) || one.length == 0) throw Error("bad frame " + one.id);
      total += one.length;
      recipe.frames.push_back(std::move(one));
    }
    if (total != recipe.size) throw Error("the frames do not add up to the size");
  } catch (const std::exception& e) {
    throw Error("damaged recipe " + source + ": " + e.what(), Exit::refused);
  }
  return recipe;
}

namespace {
constexpr int kPackIndexVersion = 2;

std::vector<PackEntry> decode_entries(const nlohmann::json& frames) {
  std::vector<PackEntry> entries;
  for (const auto& frame : frames) {
    PackEntry entry{frame.at(0).get<std::string>(), frame.at(1).get<std::uint64_t>(), frame.at(2).get<std::uint32_t>()};
    if (!is_hex_id(entry.id)) throw Error("bad frame id " + entry.id);
    entries.push_back(std::move(entry));
  }
  return entries;
}

IndexedPack decode_pack(const nlohmann::json& in) {
  IndexedPack pack{in.at("pack").get<std::string>(), decode_entries(in.at("frames"))};
  if (!is_hex_id(pack.pack)) throw Error("bad pack name");
  return pack;
}
}  // namespace

std::string encode_pack_index(const std::vector<IndexedPack>& packs) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& pack : packs) {
    auto frames = nlohmann::ordered_json::array();
    for (const auto& entry : pack.entries) frames.push_back({entry.id, entry.offset, entry.length});
    list.push_back({{"pack", pack.pack}, {"frames", std::move(frames)}});
  }
  nlohmann::ordered_json out{
      {"format", "dockform-pack-index"}, {"version", kPackIndexVersion}, {"packs", std::move(list)}};
  return out.dump() + "\n";
}

std::vector<IndexedPack> decode_pack_index(const std::string& text, const std::string& source) {
  std::vector<IndexedPack> out;
  try {
    auto in = nlohmann::json::parse(text);
    if (in.at("format") != "dockform-pack-index") throw Error("unknown format");
    if (in.at("version") == 1) {
      out.push_back(decode_pack(in));
    } else if (in.at("version") == kPackIndexVersion) {
      for (const auto& pack : in.at("packs")) out.push_back(decode_pack(pack));
    } else {
      throw Error("unknown version " + in.at("version").dump());
    }
  } catch (const std::exception& e) {
    throw Error("damaged pack index " + source + ": " + e.what(), Exit::refused);
  }
  return out;
}

std::string write_pack_index(RepoFiles& files, const std::vector<IndexedPack>& packs) {
  std::string text = encode_pack_index(packs);
  std::string name = files.content_id(text);
  files.write_new("index/" + name + ".json", text);  // false: the same packs are indexed already
  return name;
}

std::string read_repo_file(RepoFiles& files, const std::string& name) {
  auto text = files.read(name);
  if (!text) throw Error("cannot read " + files.show(name));
  return std::move(*text);
}

PackWriter::PackWriter(RepoFiles& files, bool background)
    : files_(files), pack_files_(open_repo_files(files.root())), background_(background) {}

PackWriter::~PackWriter() {
  if (sealing_.valid()) sealing_.wait();
}

void PackWriter::add(const std::string& id, std::string_view bytes) {
  if (!file_) {
    file_ = pack_files_->new_pack();
    sha_ = std::make_unique<util::Sha256>();
  }
  entries_.push_back({id, file_->bytes_written(), static_cast<std::uint32_t>(bytes.size())});
  file_->write(bytes);
  // Each id is its frame's SHA-256, so the ids in order name the bytes: no
  // second pass over them (repositories before 2026-12 hashed the bytes).
  sha_->update(id);
  if (file_->bytes_written() >= kPackTarget) seal();
}

void PackWriter::seal() {
  if (!file_) return;
  wait_sealing();
  std::string name = sha_->hex_digest();
  sealed_.push_back(name);
  in_flight_ = {name, std::move(entries_)};
  entries_.clear();
  // A pack of that name exists already: the same frames, and an index follows it.
  auto launch = background_ ? std::launch::async : std::launch::deferred;
  sealing_ = std::async(launch, [pack = std::move(file_), name]() { pack->commit(name); });
  if (!background_) wait_sealing();
}

void PackWriter::wait_sealing() {
  if (!sealing_.valid()) return;
  sealing_.get();
  unindexed_.push_back(std::move(in_flight_));
  if (unindexed_.size() >= kPacksPerIndex) write_index();
}

void PackWriter::finish() {
  seal();
  wait_sealing();
  write_index();
}

void PackWriter::write_index() {
  if (unindexed_.empty()) return;
  write_pack_index(files_, unindexed_);
  unindexed_.clear();
}

namespace {
// The 32 bytes `hex` spells; false when it is not 64 lower-case hex digits.
bool digest_of(const std::string& hex, std::array<unsigned char, 32>& out) {
  if (!is_hex_id(hex)) return false;
  auto nibble = [](char c) { return static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<unsigned char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return true;
}
bool id_less(const PackIndex::Frame& a, const PackIndex::Frame& b) { return a.id < b.id; }
// By id, then the order the packs were added: in place (std::stable_sort
// would take a second array of the index's size).
bool id_then_pack_less(const PackIndex::Frame& a, const PackIndex::Frame& b) {
  return a.id != b.id ? a.id < b.id : a.where.pack < b.where.pack;
}
static_assert(sizeof(PackIndex::Frame) == 48);
}  // namespace

void PackIndex::add(const std::string& pack, const std::vector<PackEntry>& entries) {
  auto number = static_cast<std::uint32_t>(packs_.size());
  packs_.push_back(pack);
  frames_.reserve(frames_.size() + entries.size());
  for (const auto& entry : entries) {
    Frame frame{{}, FrameLocation{entry.offset, number, entry.length}};
    if (!digest_of(entry.id, frame.id))
      throw Error("pack index of " + pack + ": a frame id is not a SHA-256", Exit::refused);
    frames_.push_back(frame);
  }
  sorted_ = sorted_ && entries.empty();
}

void PackIndex::sort() {
  std::sort(frames_.begin(), frames_.end(), id_then_pack_less);
  auto same = [](const Frame& a, const Frame& b) { return a.id == b.id; };
  frames_.erase(std::unique(frames_.begin(), frames_.end(), same), frames_.end());
  frames_.shrink_to_fit();
  sorted_ = true;
}

const FrameLocation* PackIndex::find(const std::string& id) const {
  if (!sorted_) throw std::logic_error("PackIndex::find before sort()");
  Frame wanted{};
  if (!digest_of(id, wanted.id)) return nullptr;
  auto found = std::lower_bound(frames_.begin(), frames_.end(), wanted, id_less);
  return found == frames_.end() || found->id != wanted.id ? nullptr : &found->where;
}

bool is_repository(const Location& root) {
  if (root.is_stream() || root.text().empty()) return false;
  if (root.is_local()) {
    // Checked for every local snapshot path: no file opened when there is no config.
    std::error_code error;
    if (!std::filesystem::is_regular_file(root.path() / kRepoConfigName, error)) return false;
  }
  auto files = open_repo_files(root);
  return is_repository(*files);
}

bool is_repository(RepoFiles& files) {
  // A file named config that is no repository's leaves the path a plain one.
  // A bucket that refuses the GET (credentials, no such bucket, no answer)
  // fails here as it would for a plain snapshot: with the store's error.
  auto text = files.read(kRepoConfigName);
  if (!text) return false;
  try {
    auto in = nlohmann::json::parse(*text);
    if (in.at("format") != kRepoFormat) return false;
    if (in.at("version") != kRepoVersion) {
      throw Error(files.root().text() + " is a repository of format version " + in.at("version").dump() +
                  ", this dockform reads version " + std::to_string(kRepoVersion));
    }
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

namespace {
// A new repository's place holds nothing yet (a folder missing or empty, a prefix without objects).
void check_empty(RepoFiles& files) {
  const auto& root = files.root();
  bool empty = true;
  if (root.is_local()) {
    std::error_code error;
    empty = !std::filesystem::exists(root.path(), error) || std::filesystem::is_empty(root.path(), error);
  } else {
    empty = files.folders("").empty() && files.list("").empty();  // a config is one of the objects
  }
  if (!empty) {
    throw Error(root.text() + " exists and is not empty: a repository starts in a new or empty folder (or prefix)",
                Exit::usage);
  }
}
}  // namespace

std::string init_repository(RepoFiles& files, const RepoEncryption& encryption) {
  check_empty(files);
  const std::string id = util::random_id(32);
  nlohmann::ordered_json config{
      {"format", kRepoFormat},
      {"version", kRepoVersion},
      {"id", id},
      {"frame_id", "sha256 of the frame's bytes as stored"},
      {"chunker",
       {{"min", archive::kRepoChunks.min},
        {"average", archive::kRepoChunks.average},
        {"max", archive::kRepoChunks.max}}},
  };
  std::string key_file;
  if (!encryption.recipients.empty()) {
    // First: a key file that cannot be written (it exists) leaves the place empty.
    config["frame_id"] = "hmac-sha256 of the frame's bytes as stored, under the repository key";
    config["encryption"] = make_repository_keys(files, id, encryption.recipients, encryption.key_file, key_file);
  }
  files.prepare({"packs", "index", "snapshots"});
  // The config last: a folder holding it is a whole repository.
  files.sync("");
  if (!files.write_new(kRepoConfigName, config.dump(2) + "\n")) {
    throw Error(files.root().text() + " became a repository while this made it", Exit::usage);
  }
  return key_file;
}

archive::ChunkSizes repo_chunk_sizes(RepoFiles& files) {
  auto source = files.show(kRepoConfigName);
  archive::ChunkSizes sizes;
  try {
    auto in = nlohmann::json::parse(read_repo_file(files, kRepoConfigName));
    if (!in.contains("chunker")) return archive::kFileChunks;
    const auto& chunker = in.at("chunker");
    sizes = {chunker.at("min").get<std::size_t>(), chunker.at("average").get<std::size_t>(),
             chunker.at("max").get<std::size_t>()};
    archive::check_chunk_sizes(sizes);
  } catch (const nlohmann::json::exception& e) {
    throw Error("repository config " + source + " is damaged: " + e.what(), Exit::refused);
  } catch (const Error& e) {
    throw Error("repository config " + source + ": " + e.what(), Exit::refused);
  }
  return sizes;
}

PackIndex load_pack_index(RepoFiles& files) {
  PackIndex index;
  for (const auto& item : files.list("index")) {
    if (!item.name.ends_with(".json")) continue;
    for (const auto& pack : decode_pack_index(read_repo_file(files, item.name), files.show(item.name))) {
      index.add(pack.pack, pack.entries);
    }
  }
  index.sort();
  return index;
}

namespace {
// `text` without its last part ("a/b/c" gives "a/b"); empty when it has one part.
std::string_view parent_of(std::string_view text) {
  auto slash = text.find_last_of('/');
  return slash == std::string_view::npos ? std::string_view() : text.substr(0, slash);
}
}  // namespace

std::optional<RepoRef> repository_ref(const Location& file) {
  if (file.is_stream()) return std::nullopt;
  std::string name = file.filename();
  if (!name.ends_with(".tar.zst") || name.size() == 8) return std::nullopt;
  std::string_view folder = parent_of(file.text());
  std::string_view root_text = parent_of(folder);
  // A bucket's root is s3://BUCKET: a repository needs at least "s3:/" and the bucket before it.
  if (root_text.empty() || root_text.ends_with(":/") || root_text.ends_with(':')) return std::nullopt;
  Location root = file.is_local() ? Location::local(std::string(root_text))
                                  : Location::remote(file.scheme(), std::string(root_text));
  if (!is_repository(root)) return std::nullopt;
  return RepoRef{root, std::string(folder.substr(root_text.size() + 1)), name.substr(0, name.size() - 8)};
}

VolumeSnapshots volume_snapshots(RepoFiles& files, const std::string& volume) {
  const std::string folder = "snapshots/" + volume + "/";
  std::set<std::string> recipes;
  std::set<std::string> sidecars;
  for (const auto& entry : files.list("snapshots/" + volume)) {
    std::string_view name = std::string_view(entry.name).substr(folder.size());
    if (name.ends_with(".recipe")) recipes.emplace(name.substr(0, name.size() - 7));
    if (name.ends_with(".json")) sidecars.emplace(name.substr(0, name.size() - 5));
  }
  VolumeSnapshots out;
  for (const auto& stem : recipes) (sidecars.contains(stem) ? out.finished : out.unfinished).push_back(stem);
  return out;
}

std::uint64_t repo_stored_bytes(RepoFiles& files) {
  std::uint64_t total = files.size(kRepoConfigName).value_or(0);
  for (const char* folder : {"packs", "index", "keys"}) {
    for (const auto& entry : files.list(folder)) total += entry.size;
  }
  for (const auto& volume : files.folders("snapshots")) {
    for (const auto& entry : files.list("snapshots/" + volume)) total += entry.size;
  }
  return total;
}

RepoStats repo_stats(RepoFiles& files) {
  if (!is_repository(files)) throw Error(files.root().text() + " is not a dockform repository", Exit::usage);
  RepoStats stats;
  stats.encrypted = nlohmann::json::parse(read_repo_file(files, kRepoConfigName)).contains("encryption");
  stats.stored_bytes = repo_stored_bytes(files);
  for (const auto& pack : files.list("packs")) stats.packs += pack.name.ends_with(".pack");
  for (const auto& volume : files.folders("snapshots")) {
    for (const auto& stem : volume_snapshots(files, volume).finished) {
      RepoRef ref{files.root(), volume, stem};
      ++stats.snapshots;
      stats.logical_bytes += decode_recipe(read_repo_file(files, ref.recipe()), files.show(ref.recipe())).size;
    }
  }
  stats.frames = load_pack_index(files).frame_count();
  return stats;
}

}  // namespace dockform::store
