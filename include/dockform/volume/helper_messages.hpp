#pragma once
// What dockform-helper says on stderr: one JSON object per line
// (src/helper/report.hpp), e.g.
//   {"level":"warning","kind":"vanished","path":"./a/b"}
//   {"level":"error","kind":"write","path":"./big","message":"No space left on device"}
// read into warnings for the result and errors for a failure's message. A
// line that is no JSON (the engine's own "exec format error", a crash) counts
// as an error in its own words.
//
// A good run may warn about every path (ACLs on a filesystem without them):
// the messages are read as they arrive, in bounded memory. The first ones are
// kept word for word and the rest counted ("... and 99,000 more warnings");
// nothing is cut, and nothing turns a warning into an error.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/volume/files_cache.hpp"

namespace dockform::volume {

// How many warnings and errors are kept word for word; how long a line may be.
inline constexpr std::size_t kKeptWarnings = 1000;
inline constexpr std::size_t kKeptErrors = 100;
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

struct HelperReport {
  // "PATH: what happened", for --json's warnings; past kKeptWarnings, one
  // last line counts the others.
  std::vector<std::string> warnings;
  std::vector<std::string> errors;  // the same, past kKeptErrors
  // {"level":"info","kind":"estimate","bytes":N}: the archive helper's
  // estimate of its tar's size (with --estimate).
  std::optional<std::uint64_t> estimate;
  // The errors joined for a message ("" when there were none).
  std::string error_text() const;
};

// Takes the helper's output in pieces of any size, as it arrives.
class HelperMessages {
 public:
  void feed(std::string_view bytes);
  // What was read so far, an unfinished last line included.
  HelperReport report() const;
  std::optional<std::uint64_t> estimate() const { return found_.kept.estimate; }
  // The "stat" lines (--stat), kept apart from the report.
  StampCollector& stamps() { return stamps_; }

 private:
  struct Found {
    HelperReport kept;
    std::uint64_t more_warnings = 0;
    std::uint64_t more_errors = 0;
    void take(std::string_view line, bool cut);
  };
  Found found_;
  StampCollector stamps_;
  std::string line_;  // the line being read, at most kMaxLineBytes
  bool line_cut_ = false;
};

HelperReport read_helper_messages(const std::string& text);

}  // namespace dockform::volume
