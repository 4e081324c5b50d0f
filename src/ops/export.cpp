#include "dockform/ops/export.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "dockform/archive/sidecar.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::ops {

namespace {
// The stored bytes' SHA-256 the snapshot's sidecar records; empty without a sidecar.
std::string recorded_checksum(archive::ByteSource& source) {
  auto text = archive::find_sidecar(source);
  if (!text) return "";
  auto sidecar = archive::parse_sidecar(text->text, text->location);
  if (!source.name().ends_with(".age")) return sidecar.checksum;
  return sidecar.encryption ? sidecar.encryption->stored_sha256 : "";
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(std::string("cannot write the export: ") + std::strerror(errno));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Copies the source to `write`, hashing what passes.
template <typename Write>
void copy_hashed(archive::ByteSource& source, ExportResult& result, Write&& write) {
  util::Sha256 sha;
  std::vector<char> buffer(1 << 20);
  while (std::size_t n = source.read(buffer.data(), buffer.size())) {
    util::throw_if_interrupted();
    sha.update(buffer.data(), n);
    write(buffer.data(), n);
    result.bytes += n;
  }
  result.sha256 = sha.hex_digest();
}
}  // namespace

ExportResult export_snapshot(const store::Location& file, const std::string& output, int stdout_fd) {
  ExportResult result{file.text(), output, "", 0, false};
  auto source = store::open_snapshot(file);
  std::string expected = recorded_checksum(*source);
  std::optional<util::AtomicFile> out;
  std::filesystem::path target;
  if (output != "-") {
    target = std::filesystem::absolute(output);
    if (std::filesystem::exists(target)) throw Error(output + " exists: export writes a new file", Exit::usage);
    out.emplace(target.parent_path());
  }
  copy_hashed(*source, result, [&](const char* data, std::size_t size) {
    if (out) {
      out->write(data, size);
    } else {
      write_all(stdout_fd, data, size);
    }
  });
  result.checked = !expected.empty();
  if (result.checked && expected != result.sha256) {
    throw Error("checksum mismatch: sidecar says " + expected + ", the exported file has " + result.sha256,
                Exit::refused);
  }
  if (out && !out->commit(target.filename().string())) {
    throw Error(output + " appeared while exporting: export writes a new file", Exit::usage);
  }
  return result;
}

}  // namespace dockform::ops
