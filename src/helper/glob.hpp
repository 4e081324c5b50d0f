// --exclude patterns: shell globs on the path relative to the root
// ("a/b.txt", no leading "./").
//   *   any run of bytes but '/'      ?   one byte but '/'
//   **  any run of bytes, '/' too; "**/" also matches no folder at all
//   [abc] [a-z] [!a]  byte classes   \x  a literal x
// A pattern without '/' matches the last name at any depth (like tar's
// --exclude); a pattern ending in '/' matches folders only. An excluded
// folder is skipped with everything under it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dockform::helper {

bool glob_match(std::string_view pattern, std::string_view text);

class Excludes {
 public:
  void add(std::string pattern);
  bool excluded(std::string_view relative_path, bool is_dir) const;

 private:
  struct Pattern {
    std::string glob;
    bool anywhere = false;  // no '/': match the last name
    bool dir_only = false;  // trailing '/'
  };
  std::vector<Pattern> patterns_;
};

}  // namespace dockform::helper
