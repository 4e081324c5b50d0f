#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dockform/store/stream/stream.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

namespace dockform::store {

namespace {
// Standard input (`restore VOLUME -`): read once, in order. The head that the
// format checks look at is kept and served again to the first reads; the
// size is unknown (0). Its one sibling is the --sidecar file, if any.
class StdinSource : public archive::ByteSource {
 public:
  StdinSource(std::string sidecar_file, int fd) : sidecar_file_(std::move(sidecar_file)), fd_(fd) {}

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return 0; }

  std::string read_head(std::size_t size) override {
    if (reading_) throw Error("standard input: its head was asked for after the reading began");
    while (head_.size() < size && !ended_) {
      std::string more(std::min<std::size_t>(size - head_.size(), 1 << 16), '\0');
      std::size_t n = read_fd(more.data(), more.size());
      if (n == 0) ended_ = true;
      head_.append(more.data(), n);
    }
    return head_.substr(0, size);
  }

  std::size_t read(char* buffer, std::size_t size) override {
    reading_ = true;
    if (used_ < head_.size()) {
      std::size_t take = std::min(size, head_.size() - used_);
      std::memcpy(buffer, head_.data() + used_, take);
      used_ += take;
      if (used_ == head_.size()) std::string().swap(head_), used_ = 0;
      return take;
    }
    return ended_ ? 0 : read_fd(buffer, size);
  }

  std::string sibling_name(const std::string&) const override { return sidecar_file_; }
  std::optional<std::string> read_sibling(const std::string&) override {
    if (sidecar_file_.empty()) return std::nullopt;
    std::ifstream in(sidecar_file_, std::ios::binary);
    if (!in) throw Error("cannot read the sidecar " + sidecar_file_, Exit::usage);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::size_t read_fd(char* buffer, std::size_t size) const {
    for (;;) {
      ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw Error(std::string("cannot read standard input: ") + std::strerror(errno));
      util::throw_if_interrupted();
    }
  }

  std::string name_ = "-";
  std::string sidecar_file_;
  int fd_;
  std::string head_;
  std::size_t used_ = 0;
  bool ended_ = false;
  bool reading_ = false;
};
}  // namespace

std::unique_ptr<archive::ByteSource> open_stream_source(const std::string& sidecar_file, int fd) {
  return std::make_unique<StdinSource>(sidecar_file, fd);
}

}  // namespace dockform::store
