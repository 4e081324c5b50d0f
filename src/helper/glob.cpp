#include "glob.hpp"

namespace dockform::helper {

namespace {

// Matches one [...] class at pattern[0]; sets `length` to the class length,
// or 0 when the '[' is not a well-formed class (then it is a literal).
bool match_class(std::string_view pattern, unsigned char c, size_t& length) {
  size_t i = 1;
  bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool matched = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    auto low = static_cast<unsigned char>(pattern[i]);
    auto high = low;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      high = static_cast<unsigned char>(pattern[i + 2]);
      i += 2;
    }
    if (c >= low && c <= high) matched = true;
    ++i;
  }
  if (i >= pattern.size()) {
    length = 0;
    return false;
  }
  length = i + 1;
  return matched != negate && c != '/';
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  while (!pattern.empty()) {
    char p = pattern[0];
    if (p == '*') {
      bool deep = pattern.size() > 1 && pattern[1] == '*';
      size_t stars = pattern.find_first_not_of('*');
      std::string_view rest = stars == std::string_view::npos ? std::string_view{} : pattern.substr(stars);
      if (deep && rest.starts_with('/')) {
        // "**/x": x here, or after any '/' further on.
        if (glob_match(rest.substr(1), text)) return true;
        for (size_t i = 0; i < text.size(); ++i) {
          if (text[i] == '/' && glob_match(rest.substr(1), text.substr(i + 1))) return true;
        }
        return false;
      }
      for (size_t i = 0; i <= text.size(); ++i) {
        if (glob_match(rest, text.substr(i))) return true;
        if (i < text.size() && text[i] == '/' && !deep) return false;
      }
      return false;
    }
    if (text.empty()) return false;
    auto c = static_cast<unsigned char>(text[0]);
    size_t used = 1;
    if (p == '?') {
      if (c == '/') return false;
    } else if (p == '[') {
      size_t length = 0;
      bool matched = match_class(pattern, c, length);
      if (length == 0) {
        if (c != '[') return false;
      } else {
        if (!matched) return false;
        used = length;
      }
    } else if (p == '\\' && pattern.size() > 1) {
      if (text[0] != pattern[1]) return false;
      used = 2;
    } else if (p != text[0]) {
      return false;
    }
    pattern.remove_prefix(used);
    text.remove_prefix(1);
  }
  return text.empty();
}

void Excludes::add(std::string pattern) {
  while (pattern.starts_with("./")) pattern.erase(0, 2);
  while (pattern.starts_with('/')) pattern.erase(0, 1);
  Pattern entry;
  if (pattern.size() > 1 && pattern.ends_with('/')) {
    entry.dir_only = true;
    pattern.pop_back();
  }
  entry.anywhere = pattern.find('/') == std::string::npos;
  entry.glob = std::move(pattern);
  patterns_.push_back(std::move(entry));
}

bool Excludes::excluded(std::string_view relative_path, bool is_dir) const {
  size_t slash = relative_path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? relative_path : relative_path.substr(slash + 1);
  for (const auto& pattern : patterns_) {
    if (pattern.dir_only && !is_dir) continue;
    if (glob_match(pattern.glob, pattern.anywhere ? name : relative_path)) return true;
  }
  return false;
}

}  // namespace dockform::helper
