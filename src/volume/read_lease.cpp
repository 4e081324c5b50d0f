#include "dockform/volume/read_lease.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "dockform/volume/staging.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::volume {

namespace {
// A snapshot that started its lease just before our lock checks the lock once
// and then removes its lease: well under a second on dockerd, seconds on a
// loaded Podman. A reader still there after this is a snapshot that reads.
constexpr auto kBackOffGrace = std::chrono::seconds(5);

engine::Labels reader_labels(const std::string& volume) {
  engine::Labels labels = my_holder_labels();
  labels[kReadLabel] = volume;
  return labels;
}

// Readers that hold the volume. A lease created but not started yet is not
// one: its snapshot checks the lock after the start, and sees ours.
std::vector<ReaderInfo> live_readers(engine::Engine& engine, const std::string& volume) {
  std::vector<ReaderInfo> live;
  for (auto& reader : list_readers(engine, volume)) {
    if (reader.liveness == Liveness::alive || reader.liveness == Liveness::unknown) {
      live.push_back(std::move(reader));
    } else if (reader.liveness == Liveness::gone) {
      try {
        engine.container_remove(reader.container_id);
      } catch (const std::exception& e) {
        // Ignored either way: AutoRemove or `volume unlock` removes it.
        spdlog::debug("reader lease {}: {}", reader.container_id.substr(0, 12), e.what());
      }
    }
  }
  return live;
}
}  // namespace

ReadLease::ReadLease(engine::Engine& engine, const HelperImage& image, const std::string& volume)
    : lease_(engine, image, name_prefix(volume) + new_staging_id(), reader_labels(volume), Lease::Release::let_end) {}

std::vector<ReaderInfo> list_readers(engine::Engine& engine, const std::string& volume) {
  std::vector<ReaderInfo> out;
  for (const auto& container : engine.container_list(true, {{"label", {std::string(kReadLabel) + "=" + volume}}})) {
    auto document = engine.container_inspect(container.id);
    if (!document) continue;  // ended and removed meanwhile
    ReaderInfo reader;
    reader.container_id = container.id;
    const auto& config = (*document)["Config"];
    reader.holder = holder_from_labels(config.contains("Labels") ? config["Labels"] : engine::json::object());
    reader.liveness = lease_liveness(*document);
    out.push_back(std::move(reader));
  }
  return out;
}

void refuse_if_read(engine::Engine& engine, const std::string& volume) {
  const auto deadline = std::chrono::steady_clock::now() + kBackOffGrace;
  for (;;) {
    auto readers = live_readers(engine, volume);
    if (readers.empty()) return;
    if (std::chrono::steady_clock::now() > deadline) {
      std::string runs = readers.size() == 1 ? "a snapshot" : std::to_string(readers.size()) + " snapshots";
      refuse_held("volume " + volume + " is being read by " + runs, volume, readers.front().holder);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace dockform::volume
