#pragma once
// Paths inside a volume for `volume restore --path`: what the user names,
// what the helper extracts and what the swap journal records. Header-only:
// dockform-helper, which links none of the core, uses it too.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "dockform/util/names.hpp"

namespace dockform::subtree {

// "./a//b/", "/a/b" and "a/./b" are "a/b"; "", "." and "/" are "" (the root).
// ".." stays: restore_path_problem() refuses it.
inline std::string normalise(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// True when `path` is `top` or lies below it (both normalised; "" is the root).
inline bool is_at_or_below(std::string_view path, std::string_view top) {
  if (top.empty()) return true;
  return path.starts_with(top) && (path.size() == top.size() || path[top.size()] == '/');
}

// True when `path` is a folder above `top` (both normalised): "" and "a" for "a/b".
inline bool is_above(std::string_view path, std::string_view top) {
  return path.size() < top.size() && is_at_or_below(top, path);
}

// Why the normalised `path` cannot be restored on its own, or "" when it can.
inline std::string restore_path_problem(std::string_view path) {
  if (path.empty()) return "the volume root is the whole volume: restore it without --path";
  if (path.size() > 4096) return "a path longer than 4096 bytes";
  std::string_view rest = path;
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return "a path with a '..' component";
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (names::is_reserved(path.substr(0, path.find('/')))) return "a name reserved for dockform's restore";
  return "";
}

// The normalised paths sorted, each once, without those below another one
// ("a/b" goes when "a" is there: a's subtree holds it).
inline std::vector<std::string> outermost(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  std::vector<std::string> out;
  for (auto& path : paths) {
    bool nested = std::any_of(out.begin(), out.end(), [&](const std::string& top) { return is_above(top, path); });
    if (!nested) out.push_back(std::move(path));
  }
  return out;
}

// What a partial extraction does with a member (its path normalised).
enum class Pick {
  skip,      // outside every path
  subtree,   // at or below one of the paths: restored
  ancestor,  // a folder above one: its metadata for a parent the volume lacks
};

inline Pick pick(std::string_view member, const std::vector<std::string>& paths) {
  bool above = false;
  for (const auto& top : paths) {
    if (is_at_or_below(member, top)) return Pick::subtree;
    above = above || is_above(member, top);
  }
  return above && !member.empty() ? Pick::ancestor : Pick::skip;
}

}  // namespace dockform::subtree
