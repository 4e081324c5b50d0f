#include "dockform/volume/helper_messages.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

namespace dockform::volume {

namespace {
// The words for a message that came without its own.
std::string default_text(const std::string& kind) {
  if (kind == "vanished") return "vanished while read (skipped)";
  if (kind == "leftover") return "left by an interrupted restore";
  return kind;
}

std::string describe(const nlohmann::json& message) {
  std::string kind = message.value("kind", "");
  std::string path = message.value("path", "");
  std::string text = message.value("message", "");
  if (text.empty()) text = default_text(kind);
  return path.empty() ? text : path + ": " + text;
}
}  // namespace

std::string HelperReport::error_text() const {
  std::string out;
  for (const auto& error : errors) out += (out.empty() ? "" : "; ") + error;
  return out;
}

HelperReport read_helper_messages(const std::string& text) {
  HelperReport report;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    auto message = nlohmann::json::parse(line, nullptr, false);
    if (message.is_discarded() || !message.is_object()) {
      report.errors.push_back(line);
      continue;
    }
    std::string level = message.value("level", "");
    if (message.value("kind", "") == "estimate" && message.contains("bytes") && message["bytes"].is_number_unsigned()) {
      report.estimate = message["bytes"].get<std::uint64_t>();
    }
    if (level == "warning") report.warnings.push_back(describe(message));
    if (level == "error") report.errors.push_back(describe(message));
  }
  return report;
}

}  // namespace dockform::volume
