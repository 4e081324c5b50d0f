#include "dockform/util/duration.hpp"

#include <limits>

namespace dockform::util {

namespace {
std::optional<std::int64_t> unit_seconds(char unit) {
  switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
    default: return std::nullopt;
  }
}
}  // namespace

std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t count = 0;
    std::size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (count > (kMax - 9) / 10) return std::nullopt;
      count = count * 10 + (text[i] - '0');
    }
    if (digits == 0 || i >= text.size()) return std::nullopt;
    auto unit = unit_seconds(text[i++]);
    if (!unit || count > (kMax - total) / *unit) return std::nullopt;
    total += count * *unit;
  }
  return total;
}

std::string format_duration(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  struct Unit {
    std::int64_t size;
    const char* name;
  };
  constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string out;
  int shown = 0;
  for (const auto& unit : kUnits) {
    std::int64_t count = seconds / unit.size;
    if (count == 0 && (out.empty() ? unit.size != 1 : true)) {
      if (!out.empty()) break;
      continue;
    }
    out += (out.empty() ? "" : " ") + std::to_string(count) + unit.name;
    seconds -= count * unit.size;
    if (++shown == 2) break;
  }
  return out;
}

}  // namespace dockform::util
