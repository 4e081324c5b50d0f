#pragma once
// What dockform-helper says on stderr: one JSON object per line
// (src/helper/report.hpp), e.g.
//   {"level":"warning","kind":"vanished","path":"./a/b"}
//   {"level":"error","kind":"write","path":"./big","message":"No space left on device"}
// read into warnings for the result and errors for a failure's message. A
// line that is no JSON (the engine's own "exec format error", a crash) counts
// as an error in its own words.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dockform::volume {

struct HelperReport {
  std::vector<std::string> warnings;  // "PATH: what happened", for --json's warnings
  std::vector<std::string> errors;
  // {"level":"info","kind":"estimate","bytes":N}: the archive helper's
  // estimate of its tar's size (with --estimate).
  std::optional<std::uint64_t> estimate;
  // The errors joined for a message ("" when there were none).
  std::string error_text() const;
};

HelperReport read_helper_messages(const std::string& text);

}  // namespace dockform::volume
