#include "previous.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "dockform/util/fd.hpp"

namespace dockform::helper {

namespace {

constexpr std::string_view kTypes = "fdlhpco";
constexpr size_t kReadBytes = 1 << 20;

// A whole decimal field: from_chars takes no '+', no spaces, and a '-' only
// for signed types.
template <typename T>
bool number(std::string_view text, T& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

bool nanoseconds(std::string_view text, std::int64_t& value) {
  return number(text, value) && value >= 0 && value <= 999'999'999;
}

// "" or names joined by '/', none empty, "." or "..": such a path never
// matches a member, so anything else is a host bug worth stopping for.
bool is_normalised(std::string_view path) {
  if (path.empty()) return true;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string_view name = path.substr(start, end - start);
    if (name.empty() || name == "." || name == "..") return false;
    start = end + 1;
  }
  return true;
}

// One record without its NUL; returns what is wrong with it, or null.
const char* parse_record(std::string_view record, std::string_view& path, PreviousMember& member) {
  std::array<std::string_view, 8> fields;
  for (auto& field : fields) {
    size_t space = record.find(' ');
    if (space == std::string_view::npos) return "fewer than 9 fields";
    field = record.substr(0, space);
    record.remove_prefix(space + 1);
  }
  path = record;  // the rest, spaces included
  if (!number(fields[0], member.number)) return "bad N";
  if (fields[1].size() != 1 || kTypes.find(fields[1][0]) == std::string_view::npos) return "bad TYPE";
  member.type = fields[1][0];
  if (!number(fields[2], member.ino)) return "bad INO";
  if (!number(fields[3], member.ctime_sec)) return "bad CTIME_SEC";
  if (!nanoseconds(fields[4], member.ctime_nsec)) return "bad CTIME_NSEC";
  if (!number(fields[5], member.size) || member.size < 0) return "bad SIZE";
  if (!number(fields[6], member.mtime_sec)) return "bad MTIME_SEC";
  if (!nanoseconds(fields[7], member.mtime_nsec)) return "bad MTIME_NSEC";
  if (!is_normalised(path)) return "PATH is not normalised";
  return nullptr;
}

// Reads all of `file` (a pipe too: st_size only sizes the buffer).
bool read_all(const std::string& file, std::vector<char>& text, std::string& error) {
  util::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) text.reserve(static_cast<size_t>(st.st_size) + kReadBytes);
  for (;;) {
    size_t done = text.size();
    text.resize(done + kReadBytes);
    ssize_t n = ::read(fd.get(), text.data() + done, kReadBytes);
    int read_error = errno;
    text.resize(done + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n == 0) return true;
    if (n > 0 || read_error == EINTR) continue;
    error = std::strerror(read_error);
    return false;
  }
}

bool same_metadata(const PreviousMember& before, char type, const struct stat& st) {
  return before.type == type && before.ino == st.st_ino && before.ctime_sec == st.st_ctim.tv_sec &&
         before.ctime_nsec == st.st_ctim.tv_nsec && before.mtime_sec == st.st_mtim.tv_sec &&
         before.mtime_nsec == st.st_mtim.tv_nsec && (type != 'f' || before.size == st.st_size);
}

}  // namespace

char member_type(mode_t mode, bool hardlink) {
  if (hardlink) return 'h';
  switch (mode & S_IFMT) {
    case S_IFREG: return 'f';
    case S_IFDIR: return 'd';
    case S_IFLNK: return 'l';
    case S_IFIFO: return 'p';
    case S_IFCHR:
    case S_IFBLK: return 'c';
    default: return 'o';
  }
}

std::string_view normalised(std::string_view archive_path) {
  if (archive_path == ".") return {};
  if (archive_path.starts_with("./")) archive_path.remove_prefix(2);
  return archive_path;
}

bool is_nonce(std::string_view text) {
  return text.size() == 16 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool Previous::load(const std::string& file, std::string& error) {
  if (!read_all(file, text_, error)) {
    error = "cannot read " + file + ": " + error;
    return false;
  }
  return parse(error);
}

bool Previous::parse(std::string& error) {
  std::string_view text(text_.data(), text_.size());
  members_.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '\0')));
  size_t start = 0;
  for (std::uint64_t index = 0; start < text.size(); ++index) {
    size_t end = text.find('\0', start);
    std::string_view path;
    PreviousMember member;
    const char* problem = end == std::string_view::npos ? "no NUL byte at its end"
                                                        : parse_record(text.substr(start, end - start), path, member);
    if (problem == nullptr && !members_.emplace(path, member).second) problem = "PATH repeats an earlier record's";
    if (problem != nullptr) {
      error = "record " + std::to_string(index) + " at byte " + std::to_string(start) + ": " + problem;
      return false;
    }
    start = end + 1;
  }
  return true;
}

const PreviousMember* Previous::find(std::string_view path) const {
  auto it = members_.find(path);
  return it == members_.end() ? nullptr : &it->second;
}

std::optional<std::uint64_t> Previous::unchanged(std::string_view path, const struct stat& st,
                                                 const char* hardlink) const {
  const PreviousMember* before = find(path);
  if (before == nullptr || !same_metadata(*before, member_type(st.st_mode, hardlink != nullptr), st)) return {};
  if (hardlink != nullptr) {
    const PreviousMember* first = find(normalised(hardlink));
    if (first == nullptr || first->type == 'h' || first->ino != before->ino || first->number >= before->number) {
      return {};
    }
  }
  return before->number;
}

std::optional<Run> Runs::add(std::uint64_t number) {
  if (pending_.count > 0 && number == pending_.first + pending_.count) {
    ++pending_.count;
    return {};
  }
  std::optional<Run> ended = take();
  pending_ = Run{number, 1};
  return ended;
}

std::optional<Run> Runs::take() {
  if (pending_.count == 0) return {};
  return std::exchange(pending_, Run{});
}

Entry marker_entry(std::string_view nonce, Run run) {
  Entry entry(archive_entry_new());
  if (!entry) return entry;
  std::string path =
      "./.dfsame." + std::string(nonce) + "." + std::to_string(run.first) + "." + std::to_string(run.count);
  archive_entry_copy_pathname(entry.get(), path.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0600);
  archive_entry_set_size(entry.get(), 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_mtime(entry.get(), 0, 0);
  return entry;
}

}  // namespace dockform::helper
