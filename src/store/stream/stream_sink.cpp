#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "dockform/store/stream/stream.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
// Standard output (or any descriptor): written through, never named.
class StreamSink : public SnapshotSink {
 public:
  StreamSink(int fd, std::string sidecar_file, std::time_t start, std::string extension)
      : fd_(fd), sidecar_file_(std::move(sidecar_file)), start_(start), extension_(std::move(extension)) {}

  void write(const void* data, std::size_t size) override {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t n = ::write(fd_, bytes, size);
      if (n < 0 && errno == EINTR) {
        util::throw_if_interrupted();
        continue;
      }
      // The reader went away (`| head`, a dropped ssh): the run stops and cleans up as for SIGPIPE.
      if (n < 0 && errno == EPIPE) throw util::Interrupted(SIGPIPE);
      if (n < 0) throw Error(std::string("cannot write the snapshot to standard output: ") + std::strerror(errno));
      bytes += n;
      size -= static_cast<std::size_t>(n);
      written_ += static_cast<std::uint64_t>(n);
    }
  }

  std::uint64_t bytes_written() const override { return written_; }
  std::time_t commit(const std::string& /*sha256*/) override { return start_; }

  void write_sidecar(const std::string&, std::string_view text) override {
    if (sidecar_file_.empty()) return;
    std::filesystem::path file = std::filesystem::absolute(sidecar_file_);
    std::string temporary = "." + file.filename().string() + ".dockform-tmp";
    std::filesystem::remove(file.parent_path() / temporary);
    if (!util::write_new_file(file.parent_path(), temporary, text)) {
      throw Error("cannot write the sidecar " + sidecar_file_);
    }
    std::filesystem::rename(file.parent_path() / temporary, file);
  }

  void remove_data(const std::string&) override {}  // already with the reader
  std::string location(const std::string& filename) const override {
    return filename.ends_with(".json") ? sidecar_file_ : "-";
  }
  const std::string& extension() const override { return extension_; }

 private:
  int fd_;
  std::string sidecar_file_;
  std::time_t start_;
  std::string extension_;
  std::uint64_t written_ = 0;
};
}  // namespace

std::unique_ptr<SnapshotSink> open_stream_sink(int fd, const std::string& sidecar_file, std::time_t start,
                                               const std::string& extension) {
  return std::make_unique<StreamSink>(fd, sidecar_file, start, extension);
}

}  // namespace dockform::store
