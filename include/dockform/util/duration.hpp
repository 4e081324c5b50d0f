#pragma once
// Durations as people write them on a command line: 90s, 45m, 26h, 7d, 2w,
// and sums of those (1d12h).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dockform::util {

// Seconds, or nullopt for anything else (no unit, an unknown unit, a sign,
// overflow, nothing at all).
std::optional<std::int64_t> parse_duration(std::string_view text);
// "2d 3h", "26h 5m", "45s": the two largest units.
std::string format_duration(std::int64_t seconds);

}  // namespace dockform::util
