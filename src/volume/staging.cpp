#include "dockform/volume/staging.hpp"

#include <spdlog/spdlog.h>

#include <sstream>

#include "dockform/util/error.hpp"
#include "dockform/util/process.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/helper_messages.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::volume {

namespace {
// Recovery and the swap write at the root of the volume with the owners and
// modes of the snapshot.
const std::vector<std::string> kWriteCapabilities = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SYS_ADMIN"};

HelperSpec control_spec(const HelperImage& image, const std::string& volume, std::vector<std::string> args) {
  return volume_helper_spec(image, volume, std::move(args), kWriteCapabilities, false);
}

// A control run that failed: what the helper said (JSON lines) in words.
void expect_success(const HelperResult& result, const std::string& what) {
  if (result.exit_code == 0) return;
  throw Error(what + " (helper exit " + std::to_string(result.exit_code) + "): " + result.err.report().error_text());
}
}  // namespace

VolumeState parse_volume_state(const std::string& output) {
  VolumeState state;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("entries=", 0) == 0) state.entries = std::stoull(line.substr(8));
    if (line.rfind("free_kb=", 0) == 0) state.free_bytes = std::stoull(line.substr(8)) * 1024;
    if (line.rfind("recovered=", 0) == 0) state.recovered.push_back(line.substr(10));
  }
  return state;
}

VolumeState prepare_volume(engine::Engine& engine, const HelperImage& image, const std::string& volume) {
  auto result = run_helper(engine, control_spec(image, volume, {"prepare", kVolumeMountPoint}));
  expect_success(result, "could not inspect volume " + volume);
  return parse_volume_state(result.out);
}

std::string new_staging_id() { return util::random_id(12); }

HelperSpec restore_helper_spec(const HelperImage& image, const std::string& volume, const std::string& id,
                               const std::vector<std::string>& paths) {
  std::vector<std::string> args = {"restore", kVolumeMountPoint, id};
  for (const auto& path : paths) args.insert(args.end(), {"--path", path});
  // Extraction (an exec in this container) also makes device nodes and sets
  // file capabilities and security.* attributes.
  auto spec = volume_helper_spec(image, volume, std::move(args),
                                 {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "MKNOD", "SETFCAP", "SYS_ADMIN"}, false);
  spec.with_stdin = true;
  return spec;
}

std::vector<std::string> extract_command(const std::string& id, bool no_privileged_bits,
                                         const std::vector<std::string>& paths) {
  std::vector<std::string> command = {kHelperPath, "extract",
                                      std::string(kVolumeMountPoint) + "/" + std::string(names::kStagingPrefix) + id};
  if (no_privileged_bits) command.emplace_back("--no-privileged-bits");
  for (const auto& path : paths) command.insert(command.end(), {"--only", path});
  return command;
}

void remove_staging(engine::Engine& engine, const HelperImage& image, const std::string& volume,
                    const std::string& id) {
  std::string staging = std::string(names::kStagingPrefix) + id;
  auto result = run_helper(engine, control_spec(image, volume, {"remove", kVolumeMountPoint, staging}));
  expect_success(result, "could not remove " + staging + " from volume " + volume);
}

std::vector<std::string> finish_interrupted_restore(engine::Engine& engine, const HelperImage& image,
                                                    const std::string& volume) {
  auto listing = run_helper(engine, volume_helper_spec(image, volume, {"leftovers", kVolumeMountPoint},
                                                       {"DAC_READ_SEARCH", "DAC_OVERRIDE"}, true));
  expect_success(listing, "could not inspect volume " + volume);
  auto first = trimmed(listing.out).substr(0, listing.out.find('\n'));
  if (first.empty()) return {};
  spdlog::warn("volume {}: found {} left by an interrupted restore; finishing that restore before the snapshot", volume,
               first);
  VolumeLock lock(engine, image, volume);
  auto state = prepare_volume(engine, image, volume);
  for (const auto& line : state.recovered) spdlog::warn("volume {}: {}", volume, line);
  return state.recovered;
}

}  // namespace dockform::volume
