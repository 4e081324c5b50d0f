#include "dockform/volume/tar_messages.hpp"

#include <sstream>

namespace dockform::volume {

namespace {
enum class Line { noise, change, shrink_death, other };

bool ends_with_any(const std::string& line, std::initializer_list<const char*> endings) {
  for (const char* ending : endings) {
    if (line.ends_with(ending)) return true;
  }
  return false;
}

Line classify(const std::string& line) {
  if (line.empty() || line == "tar: error exit delayed from previous errors" ||
      line == "tar: Exiting with failure status due to previous errors") {
    return Line::noise;
  }
  if (line == "tar: short read") return Line::shrink_death;
  if (!line.starts_with("tar: ")) return Line::other;
  // GNU tar's notices for a path that changed under it (exit 1), and the
  // socket notice both tars give (exit 0).
  if (ends_with_any(line, {": file changed as we read it", ": File removed before we read it",
                           ": Directory has been renamed", ": socket ignored"}) ||
      line.find(": File shrank by ") != std::string::npos ||
      line.find(": Directory has been renamed from ") != std::string::npos) {
    return Line::change;
  }
  // busybox names a vanished path with its lstat/opendir/open error.
  if (line.ends_with(": No such file or directory")) return Line::change;
  return Line::other;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    out.push_back(line);
  }
  return out;
}
}  // namespace

TarVerdict judge_tar_output(int exit_code, const std::string& helper_stderr, bool stream_complete) {
  TarVerdict verdict;
  bool died_on_shrink = false;
  bool other = false;
  for (const auto& line : lines_of(helper_stderr)) {
    switch (classify(line)) {
      case Line::noise: break;
      case Line::change: verdict.changes.push_back(line.substr(5)); break;
      case Line::shrink_death: died_on_shrink = true; break;
      case Line::other: other = true; break;
    }
  }
  if (died_on_shrink && !other) {
    verdict.kind = TarVerdict::Kind::retry;
    verdict.reason = "the helper's tar stopped at a file that shrank while it was read (tar: short read)";
    return verdict;
  }
  // A complete archive and only notices about changed paths: a snapshot with warnings.
  bool changes_only = !other && (exit_code == 0 || (exit_code == 1 && !verdict.changes.empty()));
  if (stream_complete && changes_only) return verdict;
  if (stream_complete && exit_code == 0) {
    // Any other notice from a tar that succeeded is passed on as a warning.
    verdict.changes.clear();
    for (const auto& line : lines_of(helper_stderr)) {
      if (classify(line) != Line::noise) verdict.changes.push_back(line.starts_with("tar: ") ? line.substr(5) : line);
    }
    return verdict;
  }
  verdict.kind = TarVerdict::Kind::failed;
  verdict.reason = helper_stderr;
  return verdict;
}

}  // namespace dockform::volume
