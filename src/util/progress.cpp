#include "dockform/util/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace dockform::util {

std::string human_bytes(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  }
  return text;
}

namespace {
thread_local bool silenced = false;
}  // namespace

bool Progress::enabled_for_stderr() { return !silenced && ::isatty(STDERR_FILENO) == 1; }
void Progress::silence_this_thread() { silenced = true; }

Progress::Progress(std::string label, std::optional<std::uint64_t> total)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled_for_stderr()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t done, std::optional<std::uint64_t> extra) {
  done_ = done;
  extra_ = extra;
  draw(false);
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  std::string line = label_ + ": " + human_bytes(done_);
  if (total_ && *total_ > 0) {
    line += " of " + human_bytes(*total_);
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * static_cast<double>(done_) / static_cast<double>(*total_));
    line += pct;
  }
  line += ", " + human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
  if (extra_) line += ", " + human_bytes(*extra_) + " written";
  if (total_ && rate > 0 && *total_ > done_) {
    auto eta = static_cast<unsigned long long>(static_cast<double>(*total_ - done_) / rate);
    char text[32];
    std::snprintf(text, sizeof text, ", ETA %llu:%02llu", eta / 60, eta % 60);
    line += text;
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace dockform::util
