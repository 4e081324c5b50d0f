// Typed messages to the caller: one JSON object per line on stderr, so
// dockform can tell a vanished file from a refused archive without parsing
// prose. Example:
//   {"level":"warning","kind":"vanished","path":"./a/b"}
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dockform::helper {

// Where the lines go; stderr unless a test or fuzzer silences them.
void set_report_fd(int fd);

// level: "info", "warning" or "error". path and message are omitted when empty.
void report(std::string_view level, std::string_view kind, std::string_view path = {}, std::string_view message = {});
// With `unchanged` (create --previous): ,"unchanged":K after the bytes.
void report_done(std::uint64_t entries, std::uint64_t bytes, std::optional<std::uint64_t> unchanged = {});
// {"level":"info","kind":"estimate","bytes":N}: about the tar stream's size, before it.
void report_estimate(std::uint64_t bytes);

// create --stat: every member's inode and change time, numbered from 0 in
// stream order, in lines of up to 512 members:
//   {"level":"info","kind":"stat","first":N,"members":[[INO,CTIME_SEC,CTIME_NSEC],...]}
// N the number of the line's first member.
class StatLines {
 public:
  void add(const struct stat& st);
  // Sends the members not sent yet (before the "done" line).
  void flush();

 private:
  std::uint64_t first_ = 0;
  std::uint64_t count_ = 0;
  std::string members_;
};

// One protocol line on stdout ("ready", "entries=3", ...): `line` plus "\n"
// in one write(), unbuffered, so the caller sees it at once. Returns false
// when stdout is gone.
bool say(std::string_view line);

// Appends s as a JSON string body (no quotes). Valid UTF-8 is copied;
// control bytes and bytes that are not part of valid UTF-8 become \u00XX,
// which a reader sees as U+00XX: such a path is also sent exactly as hex
// (see report()).
void append_json_escaped(std::string& out, std::string_view s);
bool is_valid_utf8(std::string_view s);

}  // namespace dockform::helper
