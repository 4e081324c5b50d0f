#include "dockform/ops/forwarder.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::ops {

namespace {
using Clock = std::chrono::steady_clock;
// A helper that takes no byte for this long is stuck (a hung filesystem).
constexpr auto kStallLimit = std::chrono::minutes(10);
// Once its input ended, the helper writes what it holds and exits; one that
// does not within this time is stuck too (extraction_exit_code waits as long).
constexpr auto kFinishLimit = std::chrono::seconds(120);

std::string seconds(Clock::duration limit) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) + " s";
}
}  // namespace

Forwarder::Forwarder(engine::RawConnection& connection, volume::LocalChannel* channel)
    : connection_(connection),
      channel_(channel),
      demux_([this](engine::StreamType, std::string_view bytes) { messages_.feed(bytes); }) {}

std::size_t Forwarder::write_some(const char* data, std::size_t size) {
  return channel_ ? channel_->write_some(data, size) : connection_.write_some(data, size);
}

void Forwarder::flush() {
  auto stall_deadline = Clock::now() + kStallLimit;
  for (;;) {
    std::uint64_t target = std::min<std::uint64_t>(limit_, base_ + pending_.size());
    if (sent_ >= target) break;
    util::throw_if_interrupted();
    if (Clock::now() > stall_deadline) {
      throw Error("the helper took no data for " + seconds(kStallLimit) + "; the volume was not changed");
    }
    // The output (messages, the helper's end) comes on the connection; the
    // stream goes there too, or to the channel.
    pollfd fds[2] = {{connection_.fd(), static_cast<short>(channel_ ? POLLIN : POLLIN | POLLOUT), 0},
                     {channel_ ? channel_->fd() : -1, POLLOUT, 0}};
    ::poll(fds, 2, 200);
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) read_output();
    if (helper_closed_) throw Error("the helper stopped reading the archive");
    if ((channel_ ? fds[1].revents : fds[0].revents & POLLOUT) != 0) {
      auto offset = static_cast<std::size_t>(sent_ - base_);
      std::size_t taken = write_some(pending_.data() + offset, static_cast<std::size_t>(target - sent_));
      sent_ += taken;
      if (taken > 0) stall_deadline = Clock::now() + kStallLimit;
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
  if (channel_) channel_->close_write();
  connection_.close_write();
  const auto deadline = Clock::now() + kFinishLimit;
  while (!helper_closed_) {
    util::throw_if_interrupted();
    if (Clock::now() > deadline) {
      throw Error("the helper's extraction still runs " + seconds(kFinishLimit) +
                  " after the end of its input; the volume was not changed");
    }
    pollfd pfd{connection_.fd(), POLLIN, 0};
    ::poll(&pfd, 1, 200);
    if (pfd.revents) read_output();
  }
}

void Forwarder::read_output() {
  char buffer[16384];
  long n = connection_.read_some(buffer, sizeof buffer, std::chrono::milliseconds(0));
  if (n == 0) helper_closed_ = true;
  if (n > 0) demux_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
}

}  // namespace dockform::ops
