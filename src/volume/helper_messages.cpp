#include "dockform/volume/helper_messages.hpp"

#include <nlohmann/json.hpp>

namespace dockform::volume {

namespace {
// The words for a message that came without its own.
std::string default_text(const std::string& kind) {
  if (kind == "vanished") return "vanished while read (skipped)";
  if (kind == "leftover") return "left by an interrupted restore";
  return kind;
}

std::string describe_message(const nlohmann::json& message) {
  std::string kind = message.value("kind", "");
  std::string path = message.value("path", "");
  std::string text = message.value("message", "");
  if (text.empty()) text = default_text(kind);
  return path.empty() ? text : path + ": " + text;
}

// 99000 -> "99,000".
std::string with_separators(std::uint64_t n) {
  std::string digits = std::to_string(n);
  for (auto at = digits.size(); at > 3; at -= 3) digits.insert(at - 3, ",");
  return digits;
}

// "... and 99,000 more warnings"
std::string and_more(std::uint64_t count, const std::string& what) {
  return "... and " + with_separators(count) + " more " + what + (count == 1 ? "" : "s");
}

void add(std::vector<std::string>& kept, std::uint64_t& more, std::size_t limit, std::string text) {
  if (kept.size() < limit) {
    kept.push_back(std::move(text));
  } else {
    ++more;
  }
}

std::string_view trimmed_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  return line;
}
}  // namespace

std::string HelperReport::error_text() const {
  std::string out;
  for (const auto& error : errors) out += (out.empty() ? "" : "; ") + error;
  return out;
}

void HelperMessages::Found::take(std::string_view line, bool cut) {
  line = trimmed_line(line);
  if (line.empty()) return;
  if (cut) {
    // Too long to parse: the helper writes the level first.
    std::string text = std::string(line.substr(0, 200)) + "... (a message longer than 64 KiB, cut)";
    if (line.starts_with(R"({"level":"warning")")) {
      add(kept.warnings, more_warnings, kKeptWarnings, std::move(text));
    } else {
      add(kept.errors, more_errors, kKeptErrors, std::move(text));
    }
    return;
  }
  auto message = nlohmann::json::parse(line, nullptr, false);
  if (message.is_discarded() || !message.is_object()) {
    add(kept.errors, more_errors, kKeptErrors, std::string(line));
    return;
  }
  std::string level = message.value("level", "");
  if (message.value("kind", "") == "estimate" && message.contains("bytes") && message["bytes"].is_number_unsigned()) {
    kept.estimate = message["bytes"].get<std::uint64_t>();
  }
  if (level == "warning") add(kept.warnings, more_warnings, kKeptWarnings, describe_message(message));
  if (level == "error") add(kept.errors, more_errors, kKeptErrors, describe_message(message));
}

void HelperMessages::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    auto end = bytes.find('\n');
    auto piece = bytes.substr(0, end);
    auto room = kMaxLineBytes - line_.size();
    if (piece.size() > room) line_cut_ = true;
    line_.append(piece.substr(0, room));
    if (end == std::string_view::npos) return;
    if (line_cut_ || !stamps_.take(line_)) found_.take(line_, line_cut_);
    line_.clear();
    line_cut_ = false;
    bytes.remove_prefix(end + 1);
  }
}

HelperReport HelperMessages::report() const {
  Found found = found_;
  found.take(line_, line_cut_);
  auto& report = found.kept;
  if (found.more_warnings > 0) report.warnings.push_back(and_more(found.more_warnings, "warning"));
  if (found.more_errors > 0) report.errors.push_back(and_more(found.more_errors, "error"));
  return report;
}

HelperReport read_helper_messages(const std::string& text) {
  HelperMessages messages;
  messages.feed(text);
  return messages.report();
}

}  // namespace dockform::volume
