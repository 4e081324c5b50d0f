#include "dockform/volume/restore_helper.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"
#include "dockform/volume/helper_messages.hpp"

namespace dockform::volume {

namespace {
using namespace std::chrono_literals;

HelperSpec spec_with(HelperSpec spec, const LocalChannel* channel) {
  if (channel) channel->mount(spec);
  return spec;
}

// Where `marker` stands alone on a line of `text`, or npos.
std::size_t find_line(const std::string& text, const std::string& marker) {
  for (std::size_t at = 0; at < text.size();) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) return std::string::npos;
    if (text.compare(at, end - at, marker) == 0) return at;
    at = end + 1;
  }
  return std::string::npos;
}
}  // namespace

RestoreHelper::RestoreHelper(engine::Engine& engine, HelperImage image, std::string volume, LocalChannel* channel,
                             std::vector<std::string> paths)
    : engine_(engine),
      image_(std::move(image)),
      volume_(std::move(volume)),
      id_(new_staging_id()),
      paths_(std::move(paths)),
      channel_(channel),
      container_(engine_, spec_with(restore_helper_spec(image_, volume_, id_, paths_), channel)),
      demux_([this](engine::StreamType type, std::string_view bytes) {
        if (type == engine::StreamType::stderr_) return err_.feed(bytes);
        if (out_.size() < (1u << 20)) out_.append(bytes);
      }) {}

RestoreHelper::~RestoreHelper() {
  cleaning_up_ = true;
  if (phase_ == Phase::staged) abandon();
  if (phase_ == Phase::live) {
    try {
      finish_swap();
    } catch (const std::exception& e) {
      spdlog::debug("restore helper for volume {}: {}", volume_, e.what());
    }
  }
  if (phase_ == Phase::swapping) {
    try {
      finish_with_own_helper();
    } catch (const std::exception& e) {
      spdlog::error("could not finish the swap in volume {}: {} (the next restore finishes it)", volume_, e.what());
    }
  }
}

// The journal may exist: finishing is safer than undoing. This helper ends
// first, so that nothing moves under the one that finishes. True when the
// swap was finished, false when it had not begun (staging removed).
bool RestoreHelper::finish_with_own_helper() {
  cleaning_up_ = true;
  container_.kill();
  container_.wait(false);
  auto state = prepare_volume(engine_, image_, volume_);
  phase_ = Phase::done;
  bool finished = false;
  for (const auto& line : state.recovered) {
    spdlog::warn("volume {}: {}", volume_, line);
    // The words of dockform-helper's prepare (src/helper/swap.cpp) for a journal it finished.
    finished = finished || line.starts_with("finished the swap");
  }
  return finished;
}

std::string RestoreHelper::settle_failed_swap() {
  return finish_with_own_helper() ? "the swap was finished: the volume holds the snapshot"
                                  : "the swap had not begun: the volume was not changed";
}

VolumeState RestoreHelper::start() {
  container_.attach_and_start();
  phase_ = Phase::staged;  // from here on the folder may exist
  return parse_volume_state(read_until("ready"));
}

engine::RawConnection& RestoreHelper::start_extraction(bool no_privileged_bits) {
  if (channel_) {
    exec_id_ =
        engine_.exec_create(container_.id(), channel_->command(extract_command(id_, no_privileged_bits, paths_)), true);
    exec_connection_ = engine_.exec_start(exec_id_);
    if (channel_->wait_connected(*exec_connection_, 30s)) return *exec_connection_;
    // It exited without touching the staging folder: the same command over the exec's stdin.
    spdlog::debug("transport: attach (the helper could not use the local channel)");
    exec_connection_.reset();
  }
  exec_id_ = engine_.exec_create(container_.id(), extract_command(id_, no_privileged_bits, paths_), true);
  exec_connection_ = engine_.exec_start(exec_id_);
  return *exec_connection_;
}

void RestoreHelper::stop_extraction() {
  exec_connection_.reset();
  // Over the channel its input ends when the channel's connection closes.
  if (channel_) channel_->close_data();
  if (exec_id_.empty()) return;
  // The extraction ends at the end of its input; wait so no file appears after the
  // staging folder is removed.
  for (int i = 0; i < 100; ++i) {
    try {
      if (!engine_.exec_inspect(exec_id_).running) return;
    } catch (const std::exception& e) {
      spdlog::debug("extraction in helper {}: {} (taken as ended)", container_.id().substr(0, 12), e.what());
      return;
    }
    std::this_thread::sleep_for(100ms);
  }
  // Going on is safe: the staging folder is removed by the helper itself,
  // in the same container, or by the next run.
  spdlog::warn("the extraction in helper {} still runs after 10 s; going on without it", container_.id().substr(0, 12));
}

int RestoreHelper::extraction_exit_code() {
  exec_connection_.reset();
  // The extraction ends once its input is closed and the last file is written; one
  // that does not (a hung filesystem) fails the restore before the swap.
  constexpr auto kLimit = 120s;
  const auto deadline = std::chrono::steady_clock::now() + kLimit;
  for (;;) {
    auto state = engine_.exec_inspect(exec_id_);
    if (!state.running) return state.exit_code;
    util::throw_if_interrupted();
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("the helper's extraction still runs " + std::to_string(kLimit.count()) +
                  " s after the end of its input; the volume was not changed");
    }
    std::this_thread::sleep_for(10ms);
  }
}

void RestoreHelper::flush() {
  send_line("flush");
  read_until("flushed");
}

void RestoreHelper::swap() {
  phase_ = Phase::swapping;
  send_line("go");
  read_until("live");
  phase_ = Phase::live;
}

void RestoreHelper::finish_swap() {
  phase_ = Phase::swapping;
  send_line("cleanup");
  read_until("swapped");
  phase_ = Phase::done;
}

// Reads the helper's stdout up to a line `marker`; returns what came before.
// Not interruptible: these steps are short and also run during cleanup.
// Some touch every entry of the volume (a flush, removing the old content),
// hence the long limit; a helper that exceeds it hangs (the destructor then
// kills it and leaves the rest to a helper of its own or the next run).
std::string RestoreHelper::read_until(const std::string& marker) {
  constexpr auto kLimit = 30min;
  const auto deadline = std::chrono::steady_clock::now() + kLimit;
  char buffer[16384];
  for (;;) {
    if (auto at = find_line(out_, marker); at != std::string::npos) {
      auto before = out_.substr(0, at);
      out_.erase(0, at + marker.size() + 1);
      return before;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("the restore helper for volume " + volume_ + " did not say " + marker + " within " +
                  std::to_string(kLimit.count()) + " min");
    }
    long n = container_.connection().read_some(buffer, sizeof buffer, 200ms);
    if (n == 0) fail("stopped before it said " + marker);
    if (n > 0) demux_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

// Each flush waits, with a limit, until what an earlier write left is on the
// wire; then write_some takes the line (far below its 64 KiB) whole. A
// connection that takes nothing (a stalled transport) fails the send.
void RestoreHelper::send_line(const std::string& line) {
  constexpr auto kLimit = 30s;
  const std::string text = line + "\n";
  auto& connection = container_.connection();
  try {
    for (std::size_t sent = 0; sent < text.size();) {
      connection.flush(kLimit);
      sent += connection.write_some(text.data() + sent, text.size() - sent);
    }
    connection.flush(kLimit);
  } catch (const Error& e) {
    throw Error("could not send '" + line + "' to the restore helper for volume " + volume_ + ": " + e.what());
  }
}

// The helper's output ended: it exited, or the connection to it dropped
// while it still runs (then it is not waited for longer than kEndLimit).
void RestoreHelper::fail(const std::string& what) {
  std::string end;
  try {
    end = "exit " + std::to_string(container_.wait(!cleaning_up_));
  } catch (const Error& e) {
    end = e.what();
  }
  auto said = err_.report().error_text();
  throw Error("the restore helper for volume " + volume_ + " " + what + " (" + end + ")" +
              (said.empty() ? "" : ": " + said));
}

// Without a go: the helper removes the staging folder; if it cannot be told
// (it died, the engine went away), a helper of its own does.
void RestoreHelper::abandon() noexcept {
  phase_ = Phase::done;
  cleaning_up_ = true;
  try {
    stop_extraction();
    send_line("abandon");
    read_until("abandoned");
    return;
  } catch (const std::exception& e) {
    spdlog::debug("restore helper for volume {}: {}", volume_, e.what());
  }
  container_.kill();
  try {
    remove_staging(engine_, image_, volume_, id_);
  } catch (const std::exception& e) {
    spdlog::error("could not clean up the staging folder in volume {}: {} (the next restore cleans it up)", volume_,
                  e.what());
  }
}

}  // namespace dockform::volume
