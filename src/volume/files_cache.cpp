#include "dockform/volume/files_cache.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dockform/util/atomic_file.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::volume {

namespace {
constexpr std::string_view kCacheTag = "dockform files cache 1";

std::string cache_base() {
  if (const char* dir = std::getenv("DOCKFORM_CACHE_DIR"); dir && *dir) return dir;
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache) return std::string(cache) + "/dockform";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/dockform";
  return {};
}

// The helper's type letters (src/helper/previous.hpp).
char type_letter(archive::TarEntry::Type type) {
  using Type = archive::TarEntry::Type;
  switch (type) {
    case Type::file: return 'f';
    case Type::directory: return 'd';
    case Type::symlink: return 'l';
    case Type::hardlink: return 'h';
    case Type::fifo: return 'p';
    case Type::device: return 'c';
    default: return 'o';
  }
}

template <typename T>
bool parse_number(std::istream& in, T& value) {
  std::string word;
  if (!(in >> word)) return false;
  auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  return error == std::errc() && end == word.data() + word.size();
}

std::optional<FilesCache> parse_cache(std::istream& in) {
  std::string line;
  if (!std::getline(in, line) || line != kCacheTag) return std::nullopt;
  FilesCache cache;
  std::string word;
  std::size_t count = 0;
  if (!(in >> word) || word != "stem" || !(in >> cache.stem)) return std::nullopt;
  if (!(in >> word) || word != "fast_runs" || !parse_number(in, cache.fast_runs)) return std::nullopt;
  if (!(in >> word) || word != "members" || !parse_number(in, count)) return std::nullopt;
  cache.stamps.resize(count);
  for (auto& stamp : cache.stamps) {
    if (!parse_number(in, stamp.inode) || !parse_number(in, stamp.ctime_sec) || !parse_number(in, stamp.ctime_nsec)) {
      return std::nullopt;
    }
  }
  return cache;
}
}  // namespace

std::string files_cache_path(const std::string& where) {
  std::string base = cache_base();
  if (base.empty()) return {};
  return base + "/files/" + util::sha256_hex(where).substr(0, 32);
}

std::optional<FilesCache> read_files_cache(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path);
  if (!in) {
    spdlog::debug("no files cache at {}", path);
    return std::nullopt;
  }
  auto cache = parse_cache(in);
  if (!cache) spdlog::debug("files cache {} is damaged: not used", path);
  return cache;
}

void write_files_cache(const std::string& path, const FilesCache& cache) {
  if (path.empty()) return;
  std::ostringstream text;
  text << kCacheTag << "\nstem " << cache.stem << "\nfast_runs " << cache.fast_runs << "\nmembers "
       << cache.stamps.size() << "\n";
  for (const auto& stamp : cache.stamps)
    text << stamp.inode << ' ' << stamp.ctime_sec << ' ' << stamp.ctime_nsec << '\n';
  try {
    std::filesystem::path final_path(path);
    util::create_private_dirs(final_path.parent_path());
    util::AtomicFile file(final_path.parent_path());
    file.write(text.str());
    file.finish();
    std::filesystem::rename(file.temp_path(), final_path);
  } catch (const std::exception& e) {
    spdlog::warn("could not write the files cache {}: {} (the next snapshot reads everything)", path, e.what());
  }
}

std::string previous_records(const std::vector<archive::Member>& members, const std::vector<FileStamp>& stamps) {
  std::string out;
  out.reserve(members.size() * 80);
  for (std::size_t i = 0; i < members.size() && i < stamps.size(); ++i) {
    const auto& member = members[i];
    const auto& stamp = stamps[i];
    out += std::to_string(i) + ' ' + type_letter(member.type) + ' ' + std::to_string(stamp.inode) + ' ' +
           std::to_string(stamp.ctime_sec) + ' ' + std::to_string(stamp.ctime_nsec) + ' ' +
           std::to_string(member.size) + ' ' + std::to_string(member.mtime) + ' ' + std::to_string(member.mtime_nsec) +
           ' ' + archive::normalise_member_path(member.path);
    out += '\0';
  }
  return out;
}

bool StampCollector::take(std::string_view line) {
  if (!line.starts_with(R"({"level":"info","kind":"stat")")) return false;
  auto message = nlohmann::json::parse(line, nullptr, false);
  try {
    if (message.at("first").get<std::size_t>() != stamps_.size()) spoiled_ = true;
    for (const auto& entry : message.at("members")) {
      stamps_.push_back(
          {entry.at(0).get<std::uint64_t>(), entry.at(1).get<std::int64_t>(), entry.at(2).get<std::uint32_t>()});
    }
  } catch (const std::exception&) {
    spoiled_ = true;
  }
  return true;
}

}  // namespace dockform::volume
