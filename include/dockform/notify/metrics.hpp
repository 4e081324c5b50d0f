#pragma once
// Prometheus metrics of dockform's runs, one series per volume, in the text
// exposition format: written to a file for node_exporter's textfile collector
// and pushed to a Pushgateway. A run changes only its command's series of the
// volumes it touched; every other line stays as it was.
#include <map>
#include <string>

#include "dockform/notify/report.hpp"

namespace dockform::notify {

// family name -> volume -> value, e.g. {"dockform_snapshot_success", {{"data", "1"}}}.
using MetricValues = std::map<std::string, std::map<std::string, std::string>>;

// The dockform_* series of an exposition text. With `job`/`instance` set,
// only the series that carry those labels (a Pushgateway's /metrics).
MetricValues parse_metrics(const std::string& text, const std::string& job = "", const std::string& instance = "");
// `before` updated with `report` (its time `now`): a failed volume keeps its
// last success timestamp and its figures.
MetricValues merge_run(MetricValues before, const RunReport& report, std::time_t now);
// The exposition text, HELP and TYPE lines first for each family.
std::string render_metrics(const MetricValues& values);

// Reads `path` (if any), merges, writes it back atomically (0644). Returns a
// warning or "".
std::string write_metrics_file(const std::string& path, const RunReport& report);
// GETs the gateway's current series of this job and host, merges, and PUTs the
// group /metrics/job/dockform/instance/HOST. Returns a warning or "".
std::string push_metrics(const std::string& gateway, const RunReport& report);

}  // namespace dockform::notify
