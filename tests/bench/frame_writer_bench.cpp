// Measures the writer side of a seekable snapshot without an engine: reads a
// tar file in the helper's 256 KiB blocks and does what SnapshotStream does
// with them (the member walk, the frames, their SHA-256
// and the compressed stream's), writing the snapshot to OUT.
//   dockform_frame_writer_bench TAR OUT [LEVEL [THREADS]]
//   dockform_frame_writer_bench --chunker TAR   (the cut points alone)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "dockform/archive/chunker.hpp"
#include "dockform/archive/frame_writer.hpp"
#include "dockform/archive/tar_walker.hpp"
#include "dockform/util/sha256.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kBlock = 256 * 1024;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The tar, read with read(2) in blocks into `block` (256 KiB), as the stream
// from the helper is. Not mapped: on a virtual machine with shadow page
// tables, walking a mapping of the page cache ran the chunker at a third of
// its speed over a buffer that stays in the TLB.
class TarFile {
 public:
  explicit TarFile(const char* path) : fd_(::open(path, O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error(std::string("cannot open ") + path);
  }
  ~TarFile() { ::close(fd_); }
  TarFile(const TarFile&) = delete;
  TarFile& operator=(const TarFile&) = delete;
  std::string_view read_block(std::vector<char>& block) {
    ssize_t n = ::read(fd_, block.data(), block.size());
    if (n < 0) throw std::runtime_error("read failed");
    return {block.data(), static_cast<std::size_t>(n)};
  }
  // The whole file, in one buffer.
  std::string read_all() {
    std::string data;
    std::vector<char> block(kBlock);
    for (auto piece = read_block(block); !piece.empty(); piece = read_block(block)) data.append(piece);
    return data;
  }

 private:
  int fd_;
};

void report(const char* what, std::size_t bytes, double seconds) {
  std::printf("%s: %zu bytes in %.3f s, %.0f MB/s\n", what, bytes, seconds, static_cast<double>(bytes) / seconds / 1e6);
}

int chunker_only(const char* tar) {
  TarFile file(tar);
  const std::string data = file.read_all();
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  dockform::archive::Chunker chunker;
  std::size_t cuts = 0;
  const auto start = Clock::now();
  for (std::size_t at = 0; at < data.size();) {
    auto step = chunker.feed(bytes + at, std::min(kBlock, data.size() - at));
    at += step.taken;
    if (step.cut) ++cuts;
  }
  report("chunker", data.size(), seconds_since(start));
  std::printf("cuts: %zu\n", cuts);
  return 0;
}

int writer(const char* tar, const char* out_path, int level, int threads) {
  TarFile file(tar);
  std::vector<char> buffer(kBlock);
  std::FILE* out = std::fopen(out_path, "wb");
  if (out == nullptr) throw std::runtime_error(std::string("cannot write ") + out_path);
  dockform::util::Sha256 file_sha;
  dockform::archive::FrameWriter frames(level, threads, [&](const char* bytes, std::size_t size) {
    file_sha.update(bytes, size);
    if (std::fwrite(bytes, 1, size, out) != size) throw std::runtime_error("write failed");
  });
  const auto start = Clock::now();
  std::size_t tar_bytes = 0;
  auto next_block = [&]() -> std::string_view {
    std::string_view block = file.read_block(buffer);
    tar_bytes += block.size();
    frames.write(block.data(), block.size());
    return block;
  };
  dockform::archive::TarWalker walker(next_block);
  std::vector<dockform::archive::Member> members;
  std::uint64_t header = 0;
  std::int64_t data_offset = 0;
  auto inspect = [&](const dockform::archive::TarEntry&, std::int64_t offset) { data_offset = offset; };
  while (auto entry = walker.next(inspect)) {
    members.push_back(dockform::archive::member_of(*entry, header, static_cast<std::uint64_t>(data_offset)));
    header = static_cast<std::uint64_t>(walker.consumed());
  }
  while (!next_block().empty()) {
  }
  const auto& index = frames.finish(std::move(members), header);
  const std::string file_digest = file_sha.hex_digest();
  const double seconds = seconds_since(start);
  std::fclose(out);
  report("writer", tar_bytes, seconds);
  std::printf("frames: %zu, members: %zu\nindex sha256: %s\nfile sha256: %s\n", index.frames.size(),
              index.members.size(), index.index_sha256.c_str(), file_digest.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string(argv[1]) == "--chunker") return chunker_only(argv[2]);
    if (argc < 3) {
      std::cerr << "usage: dockform_frame_writer_bench TAR OUT [LEVEL [THREADS]] | --chunker TAR\n";
      return 2;
    }
    return writer(argv[1], argv[2], argc > 3 ? std::atoi(argv[3]) : 3, argc > 4 ? std::atoi(argv[4]) : 0);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
