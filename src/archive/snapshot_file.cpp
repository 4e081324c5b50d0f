#include "dockform/archive/snapshot_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dockform/archive/sidecar.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::archive {

namespace {
// The first `size` bytes of the file (fewer if it is shorter).
std::string read_head(const std::filesystem::path& file, std::size_t size) {
  util::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw Error("cannot open snapshot " + file.string() + ": " + std::strerror(errno));
  std::string head(size, '\0');
  ssize_t n = ::pread(fd.get(), head.data(), size, 0);
  if (n < 0) throw Error("cannot read snapshot " + file.string() + ": " + std::strerror(errno));
  head.resize(static_cast<std::size_t>(n));
  return head;
}
}  // namespace

SnapshotFormat detect_format(const std::filesystem::path& file) {
  std::string name = file.filename().string();
  bool zst = name.ends_with(".tar.zst");
  if (!zst && !name.ends_with(".tar")) {
    throw Error("snapshot " + file.string() + " has an unknown extension (expected .tar.zst or .tar)");
  }
  if (!std::filesystem::is_regular_file(file)) throw Error("snapshot " + file.string() + " does not exist or is not a file");
  std::string head = read_head(file, 512);
  if (zst) {
    if (!util::has_zstd_magic(reinterpret_cast<const unsigned char*>(head.data()), head.size())) {
      throw Error("snapshot " + file.string() + " is not zstd data (wrong magic bytes for .tar.zst)", Exit::refused);
    }
    return SnapshotFormat::tar_zst;
  }
  // ustar, pax and GNU headers all carry "ustar" at offset 257.
  if (head.size() < 512 || head.compare(257, 5, "ustar") != 0) {
    throw Error("snapshot " + file.string() + " is not a tar archive (no ustar magic in its first header)",
                Exit::refused);
  }
  return SnapshotFormat::tar;
}

std::optional<std::filesystem::path> find_sidecar(const std::filesystem::path& data_file) {
  for (const auto& candidate : {sidecar_for(data_file), legacy_sidecar_for(data_file)}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> uncompressed_size_hint(const std::filesystem::path& file, SnapshotFormat format) {
  if (format == SnapshotFormat::tar) return std::filesystem::file_size(file);
  std::string head = read_head(file, 32);
  return util::zstd_content_size(head.data(), head.size());
}

SnapshotReader::SnapshotReader(const std::filesystem::path& file, SnapshotFormat format,
                               std::function<void(std::uint64_t)> on_read)
    : path_(file), fd_(::open(file.c_str(), O_RDONLY | O_CLOEXEC)), on_read_(std::move(on_read)), buffer_(1 << 20) {
  if (!fd_.valid()) throw Error("cannot open snapshot " + file.string() + ": " + std::strerror(errno));
  ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  if (format == SnapshotFormat::tar_zst) {
    zstd_ = std::make_unique<util::ZstdReader>([this] { return read_file(); });
  }
}

std::string_view SnapshotReader::read_file() {
  util::throw_if_interrupted();
  for (;;) {
    ssize_t n = ::read(fd_.get(), buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno == EINTR) {
        util::throw_if_interrupted();
        continue;
      }
      throw Error("cannot read snapshot " + path_.string() + ": " + std::strerror(errno));
    }
    auto size = static_cast<std::size_t>(n);
    sha_.update(buffer_.data(), size);
    bytes_read_ += size;
    if (on_read_) on_read_(bytes_read_);
    return {buffer_.data(), size};
  }
}

std::string SnapshotReader::checksum_of_whole_file() {
  if (digest_.empty()) {
    while (!read_file().empty()) {
    }
  }
  return checksum();
}

std::string_view SnapshotReader::next_block() {
  auto block = zstd_ ? zstd_->read() : read_file();
  tar_bytes_ += block.size();
  return block;
}

std::string checksum_mismatch(SnapshotReader& reader, const std::string& expected) {
  std::string actual;
  try {
    actual = reader.checksum_of_whole_file();
  } catch (const Error&) {
    return "";  // unreadable: the read error is the story
  }
  if (actual == expected) return "";
  return "checksum mismatch: sidecar says " + expected + ", the file has " + actual;
}

}  // namespace dockform::archive
