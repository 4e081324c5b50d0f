#include <spdlog/spdlog.h>

#include <iomanip>
#include <iostream>
#include <map>
#include <set>

#include "commands.hpp"
#include "dockform/archive/spec_hash.hpp"
#include "dockform/store/catalog.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/duration.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::cli {

namespace {
struct ListFlags {
  std::string volume;
  std::string output;
  std::string max_age;
  bool json = false;
};

// "yes", "no", or "unknown" (engine unreachable, volume gone, no sidecar).
using LiveHashes = std::map<std::string, std::string>;

LiveHashes live_hashes(core::Session& session, const std::vector<store::CatalogEntry>& entries) {
  LiveHashes hashes;
  try {
    auto& engine = session.engine();
    for (const auto& entry : entries) {
      if (hashes.count(entry.volume)) continue;
      auto volume = engine.volume_inspect(entry.volume);
      hashes[entry.volume] = volume ? archive::spec_hash(volume->driver, volume->options, volume->labels) : "";
    }
  } catch (const Error& e) {
    spdlog::debug("engine not reachable, spec hashes not compared: {}", e.what());
  }
  return hashes;
}

std::string spec_match(const store::CatalogEntry& entry, const LiveHashes& hashes) {
  auto live = hashes.find(entry.volume);
  if (live == hashes.end() || live->second.empty() || !entry.sidecar) return "unknown";
  return live->second == entry.sidecar->spec_hash ? "yes" : "no";
}

nlohmann::ordered_json entry_json(const store::CatalogEntry& entry, const LiveHashes& hashes) {
  nlohmann::ordered_json out;
  out["volume"] = entry.volume;
  out["created_at"] = store::iso_timestamp(entry.created);
  out["data_file"] = entry.data_file ? nlohmann::ordered_json(entry.data_file->text()) : nullptr;
  // What restore, verify, ls, extract and export take: the file, or a repository's name for the snapshot.
  out["ref"] = out["data_file"];
  out["sidecar_file"] = entry.sidecar_file ? nlohmann::ordered_json(entry.sidecar_file->text()) : nullptr;
  out["compressed_bytes"] = entry.compressed_bytes;
  out["encrypted"] = entry.encrypted();
  out["uncompressed_bytes"] = entry.sidecar ? nlohmann::ordered_json(entry.sidecar->uncompressed_bytes) : nullptr;
  out["file_count"] = entry.sidecar ? nlohmann::ordered_json(entry.sidecar->file_count) : nullptr;
  out["notes"] = entry.sidecar && entry.sidecar->notes ? nlohmann::ordered_json(*entry.sidecar->notes) : nullptr;
  out["spec_matches"] = spec_match(entry, hashes);
  out["problem"] = entry.problem.empty() ? nullptr : nlohmann::ordered_json(entry.problem);
  return out;
}

// The age of each volume's newest usable snapshot against --max-age.
struct Freshness {
  std::string volume;
  std::optional<std::time_t> newest;
  bool stale = true;
};

// The volumes --max-age checks: the one named, else every volume the manifest
// declares (when there is one) and every volume with snapshots here.
std::vector<Freshness> check_freshness(core::Session& session, const ListFlags& flags,
                                       const std::vector<store::CatalogEntry>& entries, std::int64_t limit) {
  std::set<std::string> volumes;
  if (!flags.volume.empty()) {
    volumes.insert(flags.volume);
  } else {
    try {
      for (const auto& [name, declared] : session.manifest().volumes) volumes.insert(name);
    } catch (const Error& e) {
      spdlog::debug("--max-age without a manifest: the volumes with snapshots only ({})", e.what());
    }
    for (const auto& entry : entries) volumes.insert(entry.volume);
  }
  auto now = std::time(nullptr);
  std::vector<Freshness> out;
  for (const auto& volume : volumes) {
    Freshness one{volume, std::nullopt, true};
    for (const auto& entry : entries) {  // newest first; a damaged snapshot is no backup
      if (entry.volume != volume || !entry.problem.empty()) continue;
      one.newest = entry.created;
      break;
    }
    one.stale = !one.newest || now - *one.newest > limit;
    out.push_back(one);
  }
  return out;
}

nlohmann::ordered_json freshness_json(const std::vector<Freshness>& checked, std::int64_t limit) {
  auto volumes = nlohmann::ordered_json::array();
  auto now = std::time(nullptr);
  for (const auto& one : checked) {
    volumes.push_back({{"volume", one.volume},
                       {"newest", one.newest ? nlohmann::ordered_json(store::iso_timestamp(*one.newest)) : nullptr},
                       {"age_seconds", one.newest ? nlohmann::ordered_json(now - *one.newest) : nullptr},
                       {"stale", one.stale}});
  }
  return {{"limit_seconds", limit}, {"volumes", volumes}};
}

// Names every stale volume on stderr; the exit code says whether there was one.
int report_freshness(const std::vector<Freshness>& checked, const std::string& max_age) {
  int stale = 0;
  auto now = std::time(nullptr);
  for (const auto& one : checked) {
    if (!one.stale) continue;
    ++stale;
    if (one.newest) {
      spdlog::error("volume {}: the newest snapshot ({}) is {} old, more than --max-age {}", one.volume,
                    store::iso_timestamp(*one.newest), util::format_duration(now - *one.newest), max_age);
    } else {
      spdlog::error("volume {}: no snapshot", one.volume);
    }
  }
  return stale == 0 ? 0 : static_cast<int>(Exit::stale);
}

int run_list(core::Session& session, const ListFlags& flags) {
  std::optional<std::int64_t> limit;
  if (!flags.max_age.empty()) {
    limit = util::parse_duration(flags.max_age);
    if (!limit)
      throw Error("--max-age takes a duration such as 90m, 26h, 7d or 2w, got '" + flags.max_age + "'", Exit::usage);
  }
  auto base = snapshot_base(session, flags.output);
  auto store = store::open_store(base);
  auto entries = flags.volume.empty() ? store::list_all(*store) : store::list_volume(*store, flags.volume);
  auto hashes = live_hashes(session, entries);
  std::vector<Freshness> checked;
  if (limit) checked = check_freshness(session, flags, entries, *limit);
  int rc = limit ? report_freshness(checked, flags.max_age) : 0;
  if (flags.json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& entry : entries) list.push_back(entry_json(entry, hashes));
    nlohmann::ordered_json document{{"snapshot_dir", base.text()}, {"snapshots", list}};
    if (limit) document["max_age"] = freshness_json(checked, *limit);
    print_json(document);
    return rc;
  }
  if (entries.empty()) {
    std::cout << "no snapshots under " << base.text() << std::endl;
    return rc;
  }
  std::cout << std::left << std::setw(20) << "VOLUME" << std::setw(22) << "CREATED" << std::setw(11) << "SIZE"
            << std::setw(11) << "DATA" << std::setw(8) << "FILES" << std::setw(9) << "SPEC"
            << "NOTE / FILE\n";
  for (const auto& entry : entries) {
    std::cout << std::setw(20) << entry.volume << std::setw(22) << store::iso_timestamp(entry.created) << std::setw(11)
              << util::human_bytes(entry.compressed_bytes) << std::setw(11)
              << (entry.sidecar ? util::human_bytes(entry.sidecar->uncompressed_bytes) : "-") << std::setw(8)
              << (entry.sidecar ? std::to_string(entry.sidecar->file_count) : "-") << std::setw(9)
              << spec_match(entry, hashes);
    if (!entry.problem.empty()) {
      std::cout << "DAMAGED: " << entry.problem << " ("
                << (entry.data_file ? *entry.data_file : *entry.sidecar_file).filename() << ")";
    } else {
      std::cout << (entry.sidecar->notes ? *entry.sidecar->notes + "  " : "")
                << (entry.encrypted() ? "encrypted  " : "") << entry.data_file->filename();
    }
    std::cout << "\n";
  }
  std::cout.flush();
  return rc;
}
}  // namespace

void add_list_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<ListFlags>();
  auto* cmd = volume.add_subcommand("list", "List the snapshots in a folder or s3:// location, newest first");
  cmd->add_option("volume", flags->volume, "Only this volume's snapshots");
  add_store_option(cmd, flags->output);
  cmd->add_option("--max-age", flags->max_age,
                  "Exit 7 naming every volume (VOLUME, else the manifest's and those listed) whose newest snapshot "
                  "is older than DURATION (90m, 26h, 7d, 2w), or that has none");
  add_json_flag(cmd, flags->json);
  on_run(cmd, state, [flags](core::Session& session) { return run_list(session, *flags); });
}

}  // namespace dockform::cli
