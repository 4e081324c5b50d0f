#pragma once
// What one run of a command did, in the form that notifications and metrics
// need: the command, its exit code and timing, its --json result, and an
// outcome per volume. The command fills it while it runs; cli/notify.cpp
// sends it once the command has ended (its containers already started again).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace dockform::notify {

// One volume's outcome. The figures are set for a volume that succeeded.
struct VolumeOutcome {
  std::string volume;
  bool ok = false;
  double seconds = 0;
  std::optional<std::uint64_t> stored_bytes;  // the snapshot file's bytes (written or read)
  std::optional<std::uint64_t> tar_bytes;     // the tar stream's bytes
  std::optional<std::uint64_t> files;
  std::optional<std::uint64_t> removed;  // prune
  std::optional<std::uint64_t> kept;     // prune
  std::string error;
};

struct RunReport {
  std::string command;  // snapshot, restore, copy, prune
  std::string host;
  std::time_t started_at = 0;
  double duration_seconds = 0;
  int exit_code = 0;
  nlohmann::ordered_json result;  // what --json prints (null when the run failed before it had one)
  bool print_json = false;        // --json: printed once the notifications are sent, with their outcome
  std::vector<VolumeOutcome> volumes;
  std::vector<std::string> errors;    // the run's error lines
  std::vector<std::string> warnings;  // its warning lines

  // The volume the run is about to work on: a run that then fails without
  // saying more reports it as failed.
  void begin(const std::string& volume);
  void succeeded(VolumeOutcome outcome);
  void failed(const std::string& volume, const std::string& error);
  // Volumes begun and never reported become failed, with `error`.
  void fail_unfinished(const std::string& error);
  bool ok() const { return exit_code == 0; }

 private:
  std::vector<std::string> begun_;
};

// "snapshot of HOST: ok" and the rest: the plain-text summary of pings and
// chat webhooks, at most `limit` bytes (cut with a last line saying so).
std::string summary_text(const RunReport& report, std::size_t limit);
// The JSON document of a generic webhook.
nlohmann::ordered_json report_json(const RunReport& report);
// ISO 8601 UTC, seconds: 2026-12-06T03:00:00Z.
std::string iso_utc(std::time_t when);

}  // namespace dockform::notify
