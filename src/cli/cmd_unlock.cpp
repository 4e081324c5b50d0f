#include <iostream>

#include "commands.hpp"
#include "dockform/volume/unlock.hpp"

namespace dockform::cli {

namespace {
struct UnlockFlags {
  std::string volume;
  bool force = false;
  bool json = false;
};

std::string state_text(volume::Liveness liveness) {
  switch (liveness) {
    case volume::Liveness::alive: return "its holder is running";
    case volume::Liveness::gone: return "its holder is gone";
    default: return "its holder may still be running (its machine cannot be asked)";
  }
}

// A reader lease's state, and what was done with it.
std::string reader_text(const volume::UnlockedReader& unlocked) {
  if (unlocked.reader.liveness == volume::Liveness::starting) {
    return std::string("its lease has not started (it holds nothing yet)\n  ") +
           (unlocked.removed ? "removed" : "kept");
  }
  return state_text(unlocked.reader.liveness) + "\n  " +
         (unlocked.removed ? "removed"
                           : "not removed: restores are refused while it runs; make sure that run has ended, then use "
                             "--force");
}

nlohmann::ordered_json holder_json(const volume::Holder& holder, volume::Liveness liveness) {
  nlohmann::ordered_json out;
  out["host"] = holder.host;
  out["pid"] = holder.pid;
  out["since"] = holder.since;
  out["owner"] = holder.owner;
  out["holder"] = volume::liveness_name(liveness);
  return out;
}

nlohmann::ordered_json report_json(const volume::UnlockReport& report) {
  nlohmann::ordered_json out;
  out["volume"] = report.volume;
  if (report.lock) {
    auto lock = holder_json(report.lock->holder, report.lock->liveness);
    lock["removed"] = report.lock_removed;
    out["lock"] = lock;
  } else {
    out["lock"] = nullptr;
  }
  auto readers = nlohmann::ordered_json::array();
  for (const auto& unlocked : report.readers) {
    auto reader = holder_json(unlocked.reader.holder, unlocked.reader.liveness);
    reader["removed"] = unlocked.removed;
    readers.push_back(reader);
  }
  out["readers"] = readers;
  if (report.record) {
    auto record = holder_json(report.record->holder, report.record->liveness);
    record["containers"] = report.record->containers;
    record["released"] = report.record->released;
    out["stopped_containers"] = record;
  } else {
    out["stopped_containers"] = nullptr;
  }
  out["refused"] = report.refused;
  return out;
}

void print_text(const volume::UnlockReport& report) {
  const auto& name = report.volume;
  if (!report.lock) std::cout << "volume " << name << " is not locked\n";
  if (report.lock) {
    std::cout << "lock on volume " << name << ": held by " << volume::describe(report.lock->holder) << "; "
              << state_text(report.lock->liveness) << "\n  "
              << (report.lock_removed ? "removed" : "not removed: make sure that run has ended, then use --force")
              << "\n";
  }
  for (const auto& unlocked : report.readers) {
    std::cout << "snapshot reading volume " << name << ": " << volume::describe(unlocked.reader.holder) << "; "
              << reader_text(unlocked) << "\n";
  }
  if (report.record) {
    std::string list;
    for (const auto& container : report.record->containers) list += (list.empty() ? "" : ", ") + container;
    std::cout << "containers using volume " << name << " stopped by " << volume::describe(report.record->holder) << ": "
              << (list.empty() ? "none left" : list) << "; " << state_text(report.record->liveness) << "\n  ";
    if (report.record->liveness != volume::Liveness::gone && !report.record->released) {
      std::cout << "kept: make sure that run has ended, then use --force\n";
    } else {
      std::cout << "the next `dockform volume snapshot|restore " << name
                << " --stop-containers` starts them again (or use `docker start`)\n";
    }
  }
  std::cout << std::flush;
}

int run_unlock(core::Session& session, const UnlockFlags& flags) {
  auto report = volume::unlock_volume(session.engine(), flags.volume, flags.force);
  if (flags.json) {
    print_json(report_json(report));
  } else {
    print_text(report);
  }
  return report.refused ? static_cast<int>(Exit::refused) : 0;
}
}  // namespace

void add_unlock_command(CLI::App& volume, CliState& state) {
  auto flags = std::make_shared<UnlockFlags>();
  auto* cmd =
      volume.add_subcommand("unlock", "Show who holds a volume's lock and reads it; remove what a gone holder left");
  cmd->add_option("volume", flags->volume, "Volume whose lock to show and remove")->required();
  cmd->add_flag("--force", flags->force,
                "Remove the lock and reader leases (and hand over a stopped-containers record) even when the holder "
                "may still run");
  add_json_flag(cmd, flags->json);
  on_run(cmd, state, [flags](core::Session& session) { return run_unlock(session, *flags); });
}

}  // namespace dockform::cli
