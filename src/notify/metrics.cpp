#include "dockform/notify/metrics.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dockform/notify/send.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/curl.hpp"
#include "dockform/util/fd.hpp"

namespace dockform::notify {

namespace {
// The part of each family name after "dockform_<command>_", and its help.
struct Family {
  const char* suffix;
  const char* help;
};
constexpr Family kFamilies[] = {
    {"last_success_timestamp_seconds", "Time of the volume's last successful run (Unix seconds)."},
    {"last_run_timestamp_seconds", "Time of the volume's last run, successful or not (Unix seconds)."},
    {"success", "1 when the volume's last run succeeded, 0 when it failed."},
    {"duration_seconds", "How long the volume's last run took."},
    {"stored_bytes", "Bytes of the snapshot file of the volume's last successful run (written or read)."},
    {"tar_bytes", "Bytes of the tar stream of the volume's last successful run."},
    {"files", "Entries (files, folders, links) in the volume's last successful run."},
    {"removed_snapshots", "Snapshots of the volume that the last prune removed."},
    {"kept_snapshots", "Snapshots of the volume that the last prune kept."},
};

std::string help_of(const std::string& name) {
  for (const auto& family : kFamilies) {
    std::string suffix = std::string("_") + family.suffix;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return family.help;
    }
  }
  return "A dockform metric.";
}

// key="value" pairs of a label set, from just after '{' to the closing '}'.
// Returns the position after '}', or npos when malformed.
std::size_t parse_labels(const std::string& line, std::size_t pos, std::map<std::string, std::string>& labels) {
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == ',')) ++pos;
    if (pos < line.size() && line[pos] == '}') return pos + 1;
    auto eq = line.find('=', pos);
    if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return std::string::npos;
    std::string key = line.substr(pos, eq - pos);
    std::string value;
    pos = eq + 2;
    for (; pos < line.size() && line[pos] != '"'; ++pos) {
      if (line[pos] == '\\' && pos + 1 < line.size()) {
        ++pos;
        value += line[pos] == 'n' ? '\n' : line[pos];
      } else {
        value += line[pos];
      }
    }
    if (pos >= line.size()) return std::string::npos;
    labels[key] = value;
    ++pos;
  }
  return std::string::npos;
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double value) {
  if (std::floor(value) == value && std::fabs(value) < 1e15) return std::to_string(static_cast<long long>(value));
  char text[64];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

std::string read_file(const std::string& path, std::string& problem) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) problem = "cannot read " + path + ": " + std::strerror(errno);
    return "";
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

MetricValues parse_metrics(const std::string& text, const std::string& job, const std::string& instance) {
  MetricValues values;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("dockform_", 0) != 0) continue;  // comments, other programs' series
    auto brace = line.find('{');
    if (brace == std::string::npos) continue;
    std::map<std::string, std::string> labels;
    auto end = parse_labels(line, brace + 1, labels);
    if (end == std::string::npos || !labels.count("volume")) continue;
    if (!job.empty() && labels["job"] != job) continue;
    if (!instance.empty() && labels["instance"] != instance) continue;
    std::istringstream rest(line.substr(end));
    std::string value;
    if (!(rest >> value)) continue;
    values[line.substr(0, brace)][labels["volume"]] = value;
  }
  return values;
}

MetricValues merge_run(MetricValues values, const RunReport& report, std::time_t now) {
  const std::string prefix = "dockform_" + report.command + "_";
  auto set = [&](const std::string& suffix, const std::string& volume, const std::string& value) {
    values[prefix + suffix][volume] = value;
  };
  for (const auto& outcome : report.volumes) {
    const auto& v = outcome.volume;
    set("last_run_timestamp_seconds", v, number(static_cast<double>(now)));
    set("success", v, outcome.ok ? "1" : "0");
    set("duration_seconds", v, number(outcome.seconds));
    if (!outcome.ok) continue;  // the last success and its figures stay
    set("last_success_timestamp_seconds", v, number(static_cast<double>(now)));
    if (outcome.stored_bytes) set("stored_bytes", v, number(static_cast<double>(*outcome.stored_bytes)));
    if (outcome.tar_bytes) set("tar_bytes", v, number(static_cast<double>(*outcome.tar_bytes)));
    if (outcome.files) set("files", v, number(static_cast<double>(*outcome.files)));
    if (outcome.removed) set("removed_snapshots", v, number(static_cast<double>(*outcome.removed)));
    if (outcome.kept) set("kept_snapshots", v, number(static_cast<double>(*outcome.kept)));
  }
  return values;
}

std::string render_metrics(const MetricValues& values) {
  std::ostringstream out;
  for (const auto& [name, series] : values) {
    if (series.empty()) continue;
    out << "# HELP " << name << " " << help_of(name) << "\n# TYPE " << name << " gauge\n";
    for (const auto& [volume, value] : series) {
      out << name << "{volume=\"" << escape_label(volume) << "\"} " << value << "\n";
    }
  }
  return out.str();
}

std::string write_metrics_file(const std::string& path, const RunReport& report) {
  std::string problem;
  std::string before = read_file(path, problem);
  if (!problem.empty()) return problem;
  std::string text = render_metrics(merge_run(parse_metrics(before), report, std::time(nullptr)));
  // The textfile collector reads only *.prom: the temporary name ends otherwise.
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  util::Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return "cannot create " + temp + ": " + std::strerror(errno);
  auto fail = [&temp](const std::string& what) {
    std::string failure = what + " " + temp + ": " + std::strerror(errno);
    ::unlink(temp.c_str());
    return failure;
  };
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  // The umask may have narrowed 0644: node_exporter often runs as another user.
  if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0) return fail("cannot write");
  if (fd.close() != 0) return fail("cannot write");
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename");
  auto folder = std::filesystem::path(path).parent_path();
  try {
    util::fsync_dir(folder.empty() ? std::filesystem::path(".") : folder);
  } catch (const std::exception&) {  // the file is in place; a folder fsync is best effort
  }
  return "";
}

// g++ 12 at -O2 reports a copy out of bounds inside std::string for the
// header literal below (known false positives of -Warray-bounds and
// -Wstringop-overread in libstdc++'s inlined string moves).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
std::string push_metrics(const std::string& gateway, const RunReport& report) {
  std::string base = gateway;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // What the gateway holds for this host: the volumes this run did not touch keep their series.
  Request get;
  get.method = "GET";
  get.url = base + "/metrics";
  std::string current;
  if (auto problem = send(get, {}, &current)) return *problem;
  auto values = merge_run(parse_metrics(current, "dockform", report.host), report, std::time(nullptr));
  Request put;
  put.method = "PUT";
  put.url = base + "/metrics/job/dockform/instance/" + util::url_encode(report.host);
  put.headers.push_back("Content-Type: text/plain; version=0.0.4");
  put.body = render_metrics(values);
  auto problem = send(put);
  return problem ? *problem : "";
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace dockform::notify
