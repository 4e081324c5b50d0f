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
class SequentialFile : public ByteSource {
 public:
  explicit SequentialFile(const std::filesystem::path& file)
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

// The extension says which format the first bytes must show.
SnapshotFormat format_by_name(const std::string& name) {
  if (name.ends_with(".tar.zst.age")) return SnapshotFormat::tar_zst_age;
  if (name.ends_with(".tar.zst")) return SnapshotFormat::tar_zst;
  if (name.ends_with(".tar")) return SnapshotFormat::tar;
  throw Error("snapshot " + name + " has an unknown extension (expected .tar.zst, .tar.zst.age or .tar)");
}

SnapshotFormat check_head(const std::string& name, SnapshotFormat format, const std::string& head) {
  if (format == SnapshotFormat::tar_zst_age) {
    if (head.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")) {
      throw Error("snapshot " + name +
                      " is an armored (PEM) age file, which dockform does not read: "
                      "convert it with `age -d ... | age -r ...` without --armor",
                  Exit::refused);
    }
    if (!head.starts_with("age-encryption.org/v1\n")) {
      throw Error("snapshot " + name + " is not an age file (no age-encryption.org/v1 header)", Exit::refused);
    }
    return format;
  }
  if (format == SnapshotFormat::tar_zst) {
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

const char* format_name(SnapshotFormat format) {
  switch (format) {
    case SnapshotFormat::tar_zst: return "tar.zst";
    case SnapshotFormat::tar_zst_age: return "tar.zst.age";
    case SnapshotFormat::tar: break;
  }
  return "tar";
}

std::unique_ptr<ByteSource> open_local_file(const std::filesystem::path& file) {
  return std::make_unique<SequentialFile>(file);
}

// A stream has no name: its first bytes say what it is.
SnapshotFormat format_by_head(const std::string& head) {
  if (head.starts_with("age-encryption.org/") || head.starts_with("-----BEGIN AGE")) {
    return SnapshotFormat::tar_zst_age;
  }
  if (util::has_zstd_magic(reinterpret_cast<const unsigned char*>(head.data()), head.size())) {
    return SnapshotFormat::tar_zst;
  }
  if (head.empty()) throw Error("standard input is empty: no snapshot came", Exit::refused);
  return SnapshotFormat::tar;  // the ustar check names anything else
}

SnapshotFormat detect_format(ByteSource& source) {
  std::string head = source.read_head(512);
  auto format = source.name() == "-" ? format_by_head(head) : format_by_name(source.name());
  return check_head(source.name() == "-" ? "on standard input" : source.name(), format, head);
}

SnapshotFormat detect_format(const std::filesystem::path& file) {
  auto format = format_by_name(file.string());
  if (!std::filesystem::is_regular_file(file))
    throw Error("snapshot " + file.string() + " does not exist or is not a file");
  return check_head(file.string(), format, SequentialFile(file).read_head(512));
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
  if (format == SnapshotFormat::tar_zst_age) return std::nullopt;  // the frame header is encrypted
  std::string head = source.read_head(32);
  auto size = util::zstd_content_size(head.data(), head.size());
  // A seekable snapshot's first frame holds its first chunk only: a file
  // larger than that frame can be is more than one frame, of unknown total.
  if (size && source.size() > util::zstd_compress_bound(*size) + 64) return std::nullopt;
  return size;
}

std::optional<std::uint64_t> uncompressed_size_hint(const std::filesystem::path& file, SnapshotFormat format) {
  return uncompressed_size_hint(*open_local_file(file), format);
}

namespace {
void refuse_encrypted(SnapshotFormat format) {
  if (format == SnapshotFormat::tar_zst_age) {
    throw Error("an encrypted snapshot needs an identity to be read", Exit::usage);
  }
}
}  // namespace

SnapshotReader::SnapshotReader(const std::filesystem::path& file, SnapshotFormat format,
                               std::function<void(std::uint64_t)> on_read)
    : owned_(open_local_file(file)), source_(owned_.get()), on_read_(std::move(on_read)), buffer_(1 << 20) {
  refuse_encrypted(format);
  if (format == SnapshotFormat::tar_zst) start_zstd();
}

SnapshotReader::SnapshotReader(ByteSource& source, SnapshotFormat format, std::function<void(std::uint64_t)> on_read)
    : source_(&source), on_read_(std::move(on_read)), buffer_(1 << 20) {
  refuse_encrypted(format);
  if (format == SnapshotFormat::tar_zst) start_zstd();
}

SnapshotReader::SnapshotReader(ByteSource& source, std::vector<crypto::age::Identity> identities,
                               std::function<void(std::uint64_t)> on_read)
    : source_(&source), on_read_(std::move(on_read)), buffer_(1 << 20) {
  decryptor_ = std::make_unique<crypto::age::Decryptor>(
      std::move(identities), [this](const char* data, std::size_t size) { plain_.append(data, size); });
  start_zstd();
}

SnapshotReader::~SnapshotReader() = default;

void SnapshotReader::start_zstd() {
  zstd_ = std::make_unique<util::ZstdReader>([this] { return read_compressed(); });
}

// The compressed tar: the file's bytes, or what they decrypt to (empty at the end).
std::string_view SnapshotReader::read_compressed() {
  if (!decryptor_) return read_file();
  plain_.clear();
  while (plain_.empty() && !decrypt_finished_) {
    auto stored = read_file();
    if (stored.empty()) {
      decrypt_finished_ = true;
      decryptor_->finish();  // the last chunk, or an error for a cut file
    } else {
      decryptor_->feed(stored.data(), stored.size());
    }
  }
  plain_sha_.update(plain_.data(), plain_.size());
  return plain_;
}

std::string SnapshotReader::checksum() {
  if (!decryptor_) return stored_checksum();
  if (plain_digest_.empty()) plain_digest_ = plain_sha_.hex_digest();
  return plain_digest_;
}

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
  return stored_checksum();
}

std::unique_ptr<SnapshotReader> open_reader(ByteSource& source, SnapshotFormat format,
                                            const std::vector<crypto::age::Identity>& identities,
                                            std::function<void(std::uint64_t)> on_read) {
  if (format == SnapshotFormat::tar_zst_age) return std::make_unique<SnapshotReader>(source, identities, on_read);
  return std::make_unique<SnapshotReader>(source, format, on_read);
}

void check_age_header(ByteSource& source, const std::vector<crypto::age::Identity>& identities) {
  using crypto::age::AgeError;
  crypto::age::DecryptOptions options;
  std::string head = source.read_head(options.max_header_size + crypto::age::chunk_size);
  crypto::age::Decryptor decryptor(
      identities, [](const char*, std::size_t) {}, options);
  try {
    for (std::size_t at = 0; at < head.size() && !decryptor.header_done(); at += 4096) {
      decryptor.feed(head.data() + at, std::min<std::size_t>(4096, head.size() - at));
    }
    if (!decryptor.header_done()) decryptor.finish();  // a file cut inside its header
  } catch (const AgeError& e) {
    // Without identities every header ends in no_match once its syntax was read.
    if (identities.empty() && e.kind() == crypto::age::ErrorKind::no_match) return;
    throw AgeError(e.kind(), std::string(e.what()).substr(5), Exit::refused);  // without the "age: " prefix
  }
}

std::string stored_checksum_of(const Sidecar& sidecar, const SnapshotReader& reader) {
  if (!reader.encrypted()) return sidecar.checksum;
  return sidecar.encryption ? sidecar.encryption->stored_sha256 : "";
}

std::string_view SnapshotReader::next_block() {
  auto block = zstd_ ? zstd_->read() : read_file();
  tar_bytes_ += block.size();
  return block;
}

std::string checksum_mismatch(SnapshotReader& reader, const std::string& expected) {
  if (expected.empty()) return "";  // nothing recorded for these bytes
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
