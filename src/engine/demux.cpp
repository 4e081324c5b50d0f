#include "dockform/engine/demux.hpp"

#include <algorithm>

#include "dockform/util/error.hpp"

namespace dockform::engine {

void Demuxer::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (remaining_ == 0) {
      std::size_t take = std::min(bytes.size(), header_.size() - header_used_);
      std::copy_n(bytes.begin(), take, header_.begin() + static_cast<std::ptrdiff_t>(header_used_));
      header_used_ += take;
      bytes.remove_prefix(take);
      if (header_used_ < header_.size()) return;
      header_used_ = 0;
      if (header_[0] > 2 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        throw Error("malformed stream from the Docker Engine (bad frame header)");
      }
      current_ = static_cast<StreamType>(header_[0]);
      remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                   (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
      continue;
    }
    std::size_t take = std::min<std::size_t>(bytes.size(), remaining_);
    remaining_ -= static_cast<std::uint32_t>(take);
    sink_(current_, bytes.substr(0, take));
    bytes.remove_prefix(take);
  }
}

}  // namespace dockform::engine
