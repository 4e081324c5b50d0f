#pragma once
// Restore's side of the extracting helper's attach connection: sends the tar
// stream to the helper's stdin, but never past the offset the checked walk
// has released (the end of the data of the last member whose header passed
// the safety checks), so the helper's tar never sees an unchecked header.
// Reads what the helper says as it comes (to explain an early stop), in
// bounded memory however much it says.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "dockform/engine/demux.hpp"
#include "dockform/engine/http.hpp"
#include "dockform/volume/helper_messages.hpp"
#include "dockform/volume/local_channel.hpp"

namespace dockform::ops {

class Forwarder {
 public:
  // With a channel (local_channel.hpp) the stream goes there, and the
  // connection only gives the helper's messages.
  explicit Forwarder(engine::RawConnection& connection, volume::LocalChannel* channel = nullptr);

  void push(std::string_view bytes) { pending_.append(bytes); }
  void allow_up_to(std::uint64_t offset) { limit_ = std::max(limit_, offset); }

  // Sends what is allowed, blocking until it is sent.
  void flush();
  // Closes the helper's stdin and reads its output to the end.
  void finish();
  // What the helper said so far.
  volume::HelperReport report() const { return messages_.report(); }

 private:
  void read_output();

  std::size_t write_some(const char* data, std::size_t size);

  engine::RawConnection& connection_;
  volume::LocalChannel* channel_;
  engine::Demuxer demux_;
  std::string pending_;
  std::uint64_t base_ = 0;  // stream offset of pending_[0]
  std::uint64_t sent_ = 0;
  std::uint64_t limit_ = 0;
  volume::HelperMessages messages_;
  bool helper_closed_ = false;
};

}  // namespace dockform::ops
