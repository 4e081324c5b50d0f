#include "dockform/ops/forwarder.hpp"

#include <poll.h>

#include <algorithm>

#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::ops {

Forwarder::Forwarder(engine::RawConnection& connection)
    : connection_(connection), demux_([this](engine::StreamType, std::string_view bytes) {
        if (output_.size() < 64 * 1024) output_.append(bytes);
      }) {}

void Forwarder::flush() {
  for (;;) {
    std::uint64_t target = std::min<std::uint64_t>(limit_, base_ + pending_.size());
    if (sent_ >= target) break;
    util::throw_if_interrupted();
    pollfd pfd{connection_.fd(), POLLIN | POLLOUT, 0};
    ::poll(&pfd, 1, 200);
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) read_output();
    if (helper_closed_) throw Error("the helper stopped reading the archive");
    if (pfd.revents & POLLOUT) {
      auto offset = static_cast<std::size_t>(sent_ - base_);
      sent_ += connection_.write_some(pending_.data() + offset, static_cast<std::size_t>(target - sent_));
    }
  }
  // Drop what was sent, in large steps to keep copying cheap.
  auto sent_here = static_cast<std::size_t>(sent_ - base_);
  if (sent_here > (4u << 20) || sent_here == pending_.size()) {
    pending_.erase(0, sent_here);
    base_ = sent_;
  }
}

void Forwarder::finish() {
  connection_.close_write();
  while (!helper_closed_) {
    util::throw_if_interrupted();
    pollfd pfd{connection_.fd(), POLLIN, 0};
    ::poll(&pfd, 1, 200);
    if (pfd.revents) read_output();
  }
}

std::string Forwarder::output() const { return volume::trimmed(output_); }

void Forwarder::read_output() {
  char buffer[16384];
  long n = connection_.read_some(buffer, sizeof buffer, std::chrono::milliseconds(0));
  if (n == 0) helper_closed_ = true;
  if (n > 0) demux_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
}

}  // namespace dockform::ops
