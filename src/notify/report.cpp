#include "dockform/notify/report.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "dockform/util/progress.hpp"

namespace dockform::notify {

void RunReport::begin(const std::string& volume) {
  if (std::find(begun_.begin(), begun_.end(), volume) == begun_.end()) begun_.push_back(volume);
}

void RunReport::succeeded(VolumeOutcome outcome) {
  outcome.ok = true;
  std::erase(begun_, outcome.volume);
  volumes.push_back(std::move(outcome));
}

void RunReport::failed(const std::string& volume, const std::string& error) {
  std::erase(begun_, volume);
  VolumeOutcome outcome;
  outcome.volume = volume;
  outcome.error = error;
  volumes.push_back(std::move(outcome));
}

void RunReport::fail_unfinished(const std::string& error) {
  auto left = begun_;
  for (const auto& volume : left) failed(volume, error);
}

std::string iso_utc(std::time_t when) {
  std::tm tm{};
  ::gmtime_r(&when, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

namespace {
std::string volume_line(const VolumeOutcome& outcome) {
  std::ostringstream line;
  line << "volume " << outcome.volume << ": ";
  if (!outcome.ok) {
    line << "FAILED" << (outcome.error.empty() ? "" : ": " + outcome.error);
    return line.str();
  }
  line << "ok";
  if (outcome.files) line << ", " << *outcome.files << " files";
  if (outcome.tar_bytes) line << ", " << util::human_bytes(*outcome.tar_bytes);
  if (outcome.stored_bytes) line << " -> " << util::human_bytes(*outcome.stored_bytes) << " stored";
  if (outcome.removed) line << ", " << *outcome.removed << " removed";
  if (outcome.kept) line << ", " << *outcome.kept << " kept";
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, ", %.1f s", outcome.seconds);
  line << seconds;
  return line.str();
}

// Cuts `text` to at most `limit` bytes on a UTF-8 character boundary.
std::string cut_utf8(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}
}  // namespace

std::string summary_text(const RunReport& report, std::size_t limit) {
  std::ostringstream out;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s", report.duration_seconds);
  out << "dockform volume " << report.command << " on " << report.host << ": "
      << (report.ok() ? "ok" : "FAILED (exit " + std::to_string(report.exit_code) + ")") << "\n"
      << "started " << iso_utc(report.started_at) << ", took " << seconds << "\n";
  for (const auto& outcome : report.volumes) out << volume_line(outcome) << "\n";
  if (!report.errors.empty()) {
    out << "errors:\n";
    for (const auto& line : report.errors) out << "  " << line << "\n";
  }
  if (!report.warnings.empty()) {
    out << "warnings:\n";
    for (const auto& line : report.warnings) out << "  " << line << "\n";
  }
  std::string text = out.str();
  if (text.size() <= limit) return text;
  const std::string marker = "\n[cut: the summary is longer than " + std::to_string(limit) + " bytes]\n";
  return cut_utf8(text, limit > marker.size() ? limit - marker.size() : 0) + marker;
}

nlohmann::ordered_json report_json(const RunReport& report) {
  nlohmann::ordered_json volumes = nlohmann::ordered_json::array();
  for (const auto& outcome : report.volumes) {
    nlohmann::ordered_json one{{"volume", outcome.volume}, {"ok", outcome.ok}};
    if (!outcome.ok) one["error"] = outcome.error;
    volumes.push_back(std::move(one));
  }
  return {{"command", report.command},
          {"exit_code", report.exit_code},
          {"ok", report.ok()},
          {"host", report.host},
          {"started_at", iso_utc(report.started_at)},
          {"duration_seconds", report.duration_seconds},
          {"volumes", volumes},
          {"errors", report.errors},
          {"warnings", report.warnings},
          {"result", report.result}};
}

}  // namespace dockform::notify
