#include <spdlog/spdlog.h>

#include <iomanip>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "dockform/archive/spec_hash.hpp"
#include "dockform/store/catalog.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/progress.hpp"

namespace dockform::cli {

namespace {
struct ListFlags {
  std::string volume;
  std::string output;
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

int run_list(core::Session& session, const ListFlags& flags) {
  auto base = snapshot_base(session, flags.output);
  auto store = store::open_store(base);
  auto entries = flags.volume.empty() ? store::list_all(*store) : store::list_volume(*store, flags.volume);
  auto hashes = live_hashes(session, entries);
  if (flags.json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& entry : entries) list.push_back(entry_json(entry, hashes));
    print_json({{"snapshot_dir", base.text()}, {"snapshots", list}});
    return 0;
  }
  if (entries.empty()) {
    std::cout << "no snapshots under " << base.text() << std::endl;
    return 0;
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
  return 0;
}
}  // namespace

void add_list_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<ListFlags>();
  auto* cmd = volume.add_subcommand("list", "List the snapshots in a folder or s3:// location, newest first");
  cmd->add_option("volume", flags->volume, "Only this volume's snapshots");
  cmd->add_option("-o,--output", flags->output, "Snapshot folder (default <manifest dir>/.dockform/snapshots)");
  cmd->add_flag("--json", flags->json, "Print one JSON document");
  cmd->callback([&state, flags] { state.run = [flags](core::Session& session) { return run_list(session, *flags); }; });
}

}  // namespace dockform::cli
