#pragma once
// A one-line progress display on stderr, shown only while stderr is a
// terminal: never in logs, pipes or cron mail.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dockform::util {

class Progress {
 public:
  // `total`, when known, adds a percentage and an ETA.
  Progress(std::string label, std::optional<std::uint64_t> total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` counts toward `total`; `extra` is shown as written/compressed bytes.
  void update(std::uint64_t done, std::optional<std::uint64_t> extra = std::nullopt);
  void finish();  // clears the line
  void set_total(std::uint64_t total) { total_ = total; }

  static bool enabled_for_stderr();
  // No progress line from this thread (the other half of a copy draws one).
  static void silence_this_thread();

 private:
  void draw(bool force);
  std::string label_;
  std::optional<std::uint64_t> total_;
  std::uint64_t done_ = 0;
  std::optional<std::uint64_t> extra_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1.5 MiB", "312 B".
std::string human_bytes(std::uint64_t bytes);

}  // namespace dockform::util
