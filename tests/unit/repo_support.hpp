#pragma once
// Repository tests' helpers: a snapshot written into a local repository
// through its store, and a snapshot read back whole.
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <string>

#include "dockform/archive/frame_writer.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::store::test_repo {

// `data` written in the seekable format (its "members" left out: the splitter
// and the repository do not look inside frames).
inline std::string seekable_file(const std::string& data) {
  std::string out;
  archive::FrameWriter writer(3, 0, [&](const char* bytes, std::size_t size) { out.append(bytes, size); });
  writer.write(data.data(), data.size());
  writer.finish({}, data.size());
  return out;
}

// Writes `file` as a snapshot of "vol" into the repository in `root`; returns its ref.
inline Location put(const std::filesystem::path& root, const std::string& file, std::time_t start) {
  auto store = open_store(Location::local(root));
  auto sink = store->open_sink("vol", start, "0123456789abcdef", ".tar.zst");
  for (std::size_t at = 0; at < file.size(); at += 65536)
    sink->write(file.data() + at, std::min<std::size_t>(65536, file.size() - at));
  auto t = sink->commit(util::sha256_hex(file));
  std::string stem = snapshot_stem(t, "0123456789abcdef");
  sink->write_sidecar(stem, R"({"checksum":")" + util::sha256_hex(file) + R"("})");
  return Location::local(sink->location(stem + ".tar.zst"));
}

// The snapshot's bytes, read as a restore reads them.
inline std::string read_all(const Location& ref) {
  auto source = open_snapshot(ref);
  std::string out;
  char buffer[10000];
  while (std::size_t n = source->read(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

}  // namespace dockform::store::test_repo
