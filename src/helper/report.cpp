#include "report.hpp"

#include <unistd.h>

#include <cerrno>

namespace dockform::helper {

namespace {

int report_fd = 2;
// Members per stat line: about 20 KiB, one write() each.
constexpr std::uint64_t kStatLineMembers = 512;

// Length of the valid UTF-8 sequence starting at s[i], or 0.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  size_t length = 0;
  unsigned int min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  unsigned int code = lead & (0x3Fu >> (length - 1));
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3Fu);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid.
  if (code < min || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return 0;
  return length;
}

void append_hex_byte(std::string& out, unsigned char c) {
  static const char digits[] = "0123456789abcdef";
  out += digits[c >> 4];
  out += digits[c & 0xF];
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}

// One write() per line: lines from a single process never interleave.
bool write_all(int fd, const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void emit(const std::string& line) { write_all(report_fd, line); }

}  // namespace

void set_report_fd(int fd) { report_fd = fd; }

bool say(std::string_view line) {
  std::string text(line);
  text += '\n';
  return write_all(1, text);
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t length = utf8_sequence_length(s, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

void append_json_escaped(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      append_hex_byte(out, c);
    } else if (c >= 0x80) {
      size_t length = utf8_sequence_length(s, i);
      if (length == 0) {
        out += "\\u00";
        append_hex_byte(out, c);
      } else {
        out.append(s.substr(i, length));
        i += length;
        continue;
      }
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
}

void report(std::string_view level, std::string_view kind, std::string_view path, std::string_view message) {
  std::string line = "{\"level\":\"";
  line += level;
  line += "\",\"kind\":\"";
  line += kind;
  line += '"';
  if (!path.empty()) {
    append_field(line, "path", path);
    // The escaped form is lossy for bytes that are not UTF-8: give the exact bytes too.
    if (!is_valid_utf8(path)) {
      std::string hex;
      for (char c : path) append_hex_byte(hex, static_cast<unsigned char>(c));
      append_field(line, "path_hex", hex);
    }
  }
  if (!message.empty()) append_field(line, "message", message);
  line += "}\n";
  emit(line);
}

void report_estimate(std::uint64_t bytes) {
  emit("{\"level\":\"info\",\"kind\":\"estimate\",\"bytes\":" + std::to_string(bytes) + "}\n");
}

void report_done(std::uint64_t entries, std::uint64_t bytes, std::optional<std::uint64_t> unchanged) {
  std::string line = "{\"level\":\"info\",\"kind\":\"done\",\"entries\":" + std::to_string(entries) +
                     ",\"bytes\":" + std::to_string(bytes);
  if (unchanged) line += ",\"unchanged\":" + std::to_string(*unchanged);
  emit(line + "}\n");
}

void StatLines::add(const struct stat& st) {
  if (count_ > 0) members_ += ',';
  members_ += '[' + std::to_string(static_cast<std::uint64_t>(st.st_ino)) + ',' +
              std::to_string(static_cast<std::int64_t>(st.st_ctim.tv_sec)) + ',' +
              std::to_string(static_cast<std::int64_t>(st.st_ctim.tv_nsec)) + ']';
  if (++count_ == kStatLineMembers) flush();
}

void StatLines::flush() {
  if (count_ == 0) return;
  emit("{\"level\":\"info\",\"kind\":\"stat\",\"first\":" + std::to_string(first_) + ",\"members\":[" + members_ +
       "]}\n");
  first_ += count_;
  count_ = 0;
  members_.clear();
}

}  // namespace dockform::helper
