#include "dockform/store/naming.hpp"

#include <string>

namespace dockform::store {

std::string utc_text(std::time_t time, const char* pattern) {
  std::tm tm{};
  gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof text, pattern, &tm);
  return text;
}

namespace {
// Accepts exactly the text utc_text() writes ("2023-10-04T15-30-45Z" with '-'
// or ':' between the time fields): a parse that formats back to the same
// text, so impossible dates like 02-31 are refused rather than normalised.
std::optional<std::time_t> parse(const std::string& text, char time_separator) {
  std::string shape = "dddd-dd-ddTdd:dd:ddZ";
  shape[13] = shape[16] = time_separator;
  if (text.size() != shape.size()) return std::nullopt;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t length) { return std::stoi(text.substr(at, length)); };
  std::tm tm{};
  tm.tm_year = number(0, 4) - 1900;
  tm.tm_mon = number(5, 2) - 1;
  tm.tm_mday = number(8, 2);
  tm.tm_hour = number(11, 2);
  tm.tm_min = number(14, 2);
  tm.tm_sec = number(17, 2);
  std::time_t time = timegm(&tm);
  const char* pattern = time_separator == ':' ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H-%M-%SZ";
  if (utc_text(time, pattern) != text) return std::nullopt;
  return time;
}
}  // namespace

std::string file_timestamp(std::time_t time) { return utc_text(time, "%Y-%m-%dT%H-%M-%SZ"); }
std::string iso_timestamp(std::time_t time) { return utc_text(time, "%Y-%m-%dT%H:%M:%SZ"); }
std::optional<std::time_t> parse_file_timestamp(const std::string& text) { return parse(text, '-'); }
std::optional<std::time_t> parse_iso_timestamp(const std::string& text) { return parse(text, ':'); }

std::string snapshot_stem(std::time_t time, const std::string& spec_hash) {
  return file_timestamp(time) + "__spec-" + spec_hash;
}

std::filesystem::path volume_folder(const std::filesystem::path& base, const std::string& volume) {
  return base / volume;
}

}  // namespace dockform::store
