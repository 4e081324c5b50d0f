#include "dockform/snapshot/naming.hpp"

#include <cstdio>

namespace dockform::snapshot {

namespace {
std::string format(std::time_t time, const char* pattern) {
  std::tm tm{};
  gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof text, pattern, &tm);
  return text;
}

std::optional<std::time_t> parse(const std::string& text, char time_separator) {
  int year, month, day, hour, minute, second;
  char sep1, sep2, zulu;
  char tail;
  std::string pattern = "%4d-%2d-%2dT%2d%c%2d%c%2d%c%c";
  int n = std::sscanf(text.c_str(), pattern.c_str(), &year, &month, &day, &hour, &sep1, &minute, &sep2, &second,
                      &zulu, &tail);
  if (n != 9 || sep1 != time_separator || sep2 != time_separator || zulu != 'Z') return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return timegm(&tm);
}
}  // namespace

std::string file_timestamp(std::time_t time) { return format(time, "%Y-%m-%dT%H-%M-%SZ"); }
std::string iso_timestamp(std::time_t time) { return format(time, "%Y-%m-%dT%H:%M:%SZ"); }
std::optional<std::time_t> parse_file_timestamp(const std::string& text) { return parse(text, '-'); }
std::optional<std::time_t> parse_iso_timestamp(const std::string& text) { return parse(text, ':'); }

std::string snapshot_stem(std::time_t time, const std::string& spec_hash) {
  return file_timestamp(time) + "__spec-" + spec_hash;
}

namespace {
std::string strip_data_extension(const std::string& name) {
  for (const char* ext : {".tar.zst", ".tar"}) {
    std::string suffix = ext;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return name;
}
}  // namespace

std::filesystem::path sidecar_for(const std::filesystem::path& data_file) {
  return data_file.parent_path() / (strip_data_extension(data_file.filename().string()) + ".json");
}

std::filesystem::path legacy_sidecar_for(const std::filesystem::path& data_file) {
  auto name = data_file.filename().string();
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".zst") == 0) name.resize(name.size() - 4);
  return data_file.parent_path() / (name + ".json");
}

std::filesystem::path volume_folder(const std::filesystem::path& base, const std::string& volume) {
  return base / volume;
}

}  // namespace dockform::snapshot
