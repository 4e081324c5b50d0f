#include "dockform/archive/snapshot_file.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dockform/archive/sidecar.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/fd.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::archive {

namespace {
class LocalFile : public ByteSource {
 public:
  explicit LocalFile(const std::filesystem::path& file)
      : path_(file), name_(file.string()), fd_(::open(file.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (!fd_.valid()) throw Error("cannot open snapshot " + name_ + ": " + std::strerror(errno));
    ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return std::filesystem::file_size(path_); }

  std::string read_head(std::size_t size) override {
    std::string head(size, '\0');
    ssize_t n = ::pread(fd_.get(), head.data(), size, 0);
    if (n < 0) throw Error("cannot read snapshot " + name_ + ": " + std::strerror(errno));
    head.resize(static_cast<std::size_t>(n));
    return head;
  }

  std::size_t read(char* buffer, std::size_t size) override {
    for (;;) {
      ssize_t n = ::read(fd_.get(), buffer, size);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw Error("cannot read snapshot " + name_ + ": " + std::strerror(errno));
      util::throw_if_interrupted();
    }
  }

  std::string sibling_name(const std::string& filename) const override {
    return (path_.parent_path() / filename).string();
  }

  std::optional<std::string> read_sibling(const std::string& filename) override {
    auto sibling = path_.parent_path() / filename;
    if (!std::filesystem::exists(sibling)) return std::nullopt;
    std::ifstream in(sibling, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::filesystem::path path_;
  std::string name_;
  util::Fd fd_;
};

bool has_extension(const std::string& name, const char* extension) { return name.ends_with(extension); }

// The extension says which format the first bytes must show.
bool zst_by_name(const std::string& name) {
  bool zst = has_extension(name, ".tar.zst");
  if (!zst && !has_extension(name, ".tar")) {
    throw Error("snapshot " + name + " has an unknown extension (expected .tar.zst or .tar)");
  }
  return zst;
}

SnapshotFormat check_head(const std::string& name, bool zst, const std::string& head) {
  if (zst) {
    if (!util::has_zstd_magic(reinterpret_cast<const unsigned char*>(head.data()), head.size())) {
      throw Error("snapshot " + name + " is not zstd data (wrong magic bytes for .tar.zst)", Exit::refused);
    }
    return SnapshotFormat::tar_zst;
  }
  // ustar, pax and GNU headers all carry "ustar" at offset 257.
  if (head.size() < 512 || head.compare(257, 5, "ustar") != 0) {
    throw Error("snapshot " + name + " is not a tar archive (no ustar magic in its first header)", Exit::refused);
  }
  return SnapshotFormat::tar;
}

std::string base_name(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}
}  // namespace

std::unique_ptr<ByteSource> open_local_file(const std::filesystem::path& file) {
  return std::make_unique<LocalFile>(file);
}

SnapshotFormat detect_format(ByteSource& source) {
  bool zst = zst_by_name(source.name());
  return check_head(source.name(), zst, source.read_head(512));
}

SnapshotFormat detect_format(const std::filesystem::path& file) {
  bool zst = zst_by_name(file.string());
  if (!std::filesystem::is_regular_file(file))
    throw Error("snapshot " + file.string() + " does not exist or is not a file");
  return check_head(file.string(), zst, LocalFile(file).read_head(512));
}

std::optional<SidecarText> find_sidecar(ByteSource& source) {
  std::filesystem::path data = base_name(source.name());
  for (const auto& candidate : {sidecar_for(data), legacy_sidecar_for(data)}) {
    if (auto text = source.read_sibling(candidate.string())) {
      return SidecarText{source.sibling_name(candidate.string()), std::move(*text)};
    }
  }
  return std::nullopt;
}

std::optional<std::filesystem::path> find_sidecar(const std::filesystem::path& data_file) {
  for (const auto& candidate : {sidecar_for(data_file), legacy_sidecar_for(data_file)}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> uncompressed_size_hint(ByteSource& source, SnapshotFormat format) {
  if (format == SnapshotFormat::tar) return source.size();
  std::string head = source.read_head(32);
  return util::zstd_content_size(head.data(), head.size());
}

std::optional<std::uint64_t> uncompressed_size_hint(const std::filesystem::path& file, SnapshotFormat format) {
  return uncompressed_size_hint(*open_local_file(file), format);
}

SnapshotReader::SnapshotReader(const std::filesystem::path& file, SnapshotFormat format,
                               std::function<void(std::uint64_t)> on_read)
    : owned_(open_local_file(file)), source_(owned_.get()), on_read_(std::move(on_read)), buffer_(1 << 20) {
  if (format == SnapshotFormat::tar_zst) {
    zstd_ = std::make_unique<util::ZstdReader>([this] { return read_file(); });
  }
}

SnapshotReader::SnapshotReader(ByteSource& source, SnapshotFormat format, std::function<void(std::uint64_t)> on_read)
    : source_(&source), on_read_(std::move(on_read)), buffer_(1 << 20) {
  if (format == SnapshotFormat::tar_zst) {
    zstd_ = std::make_unique<util::ZstdReader>([this] { return read_file(); });
  }
}

SnapshotReader::~SnapshotReader() = default;

std::string_view SnapshotReader::read_file() {
  util::throw_if_interrupted();
  std::size_t size = source_->read(buffer_.data(), buffer_.size());
  sha_.update(buffer_.data(), size);
  bytes_read_ += size;
  if (on_read_) on_read_(bytes_read_);
  return {buffer_.data(), size};
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
  } catch (const Error& e) {
    // Unreadable: the caller reports the read error it already has.
    spdlog::debug("no checksum to compare: {}", e.what());
    return "";
  }
  if (actual == expected) return "";
  return "checksum mismatch: sidecar says " + expected + ", the file has " + actual;
}

}  // namespace dockform::archive
