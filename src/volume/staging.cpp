#include "dockform/volume/staging.hpp"

#include <spdlog/spdlog.h>

#include <random>
#include <sstream>

#include "dockform/util/error.hpp"
#include "dockform/volume/helper.hpp"
#include "dockform/volume/volume_lock.hpp"

namespace dockform::volume {

namespace {
// Shared shell functions (busybox sh and GNU coreutils alike). Globs cover
// dotfiles ('.[!.]*', '..?*'); every mv stays inside the volume, so each is a
// rename. flush_fs before the journal makes the staged data durable first; it
// flushes only the volume's filesystem (syncfs: `sync -f`, in busybox and GNU
// coreutils), and every filesystem only where the helper's sync lacks -f.
constexpr const char* kSwapFunctions = R"sh(set -u
cd /volume || exit 111
ours() { case "$1" in .dockform-restore-*|.dockform-old-*|.dockform-swap-*) return 0;; esac; return 1; }
flush_fs() { sync -f . 2>/dev/null || sync; }
set_phase() { echo "$2" > ".dockform-swap-$1.tmp" && mv -f ".dockform-swap-$1.tmp" ".dockform-swap-$1" && flush_fs; }
# move_all DEST SRC...: one mv for every entry (short downtime with many
# entries), entry by entry if that one fails (e.g. too long an argument list).
move_all() {
  dest=$1; shift
  [ $# -eq 0 ] && return 0
  mv -f "$@" "$dest" 2>/dev/null && return 0
  for e in "$@"; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    mv -f "$e" "$dest" || return 1
  done
}
move_old() {
  old=".dockform-old-$1"
  mkdir -p "$old" || return 1
  set --
  for e in .[!.]* ..?* *; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    ours "$e" && continue
    set -- "$@" "./$e"
  done
  move_all "$old/" "$@"
}
move_new() {
  s=".dockform-restore-$1"
  set --
  for e in "$s"/.[!.]* "$s"/..?* "$s"/*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    set -- "$@" "$e"
  done
  move_all ./ "$@" || return 1
  chown "$(stat -c %u:%g "$s")" . && chmod "$(stat -c %a "$s")" .
}
finish_swap() {
  phase=$2
  if [ "$phase" = 1 ]; then move_old "$1" && set_phase "$1" 2 || return 1; phase=2; fi
  if [ "$phase" = 2 ]; then move_new "$1" && set_phase "$1" 3 || return 1; fi
  rm -rf ".dockform-old-$1" ".dockform-restore-$1" && rm -f ".dockform-swap-$1" && flush_fs
}
)sh";

constexpr const char* kPrepareScript = R"sh(
for j in .dockform-swap-*; do
  [ -f "$j" ] || continue
  case "$j" in *.tmp) rm -f "$j"; continue;; esac
  id=${j#.dockform-swap-}
  phase=$(cat "$j")
  echo "recovered=finished the swap of an interrupted restore ($id, phase $phase)"
  finish_swap "$id" "$phase" || { echo "could not finish the interrupted swap $id" >&2; exit 1; }
done
for d in .dockform-restore-* .dockform-old-*; do
  [ -e "$d" ] || continue
  echo "recovered=removed $d left by an interrupted restore"
  rm -rf "$d" || exit 1
done
n=0
for e in .[!.]* ..?* *; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  n=$((n+1))
done
echo "entries=$n"
df -Pk . | awk 'NR==2 { print "free_kb=" $4 }'
)sh";

HelperSpec control_spec(const std::string& image, const std::string& volume, const std::string& script) {
  return volume_helper_spec(image, volume, std::string(kSwapFunctions) + script,
                            {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}, false);
}

// Lists what a killed restore left at the volume root, one name a line.
constexpr const char* kLeftoverScript = R"sh(cd /volume || exit 111
for e in .dockform-restore-* .dockform-old-* .dockform-swap-*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  echo "$e"
done
)sh";

// The rest of the single restore helper's script (after the swap functions
// and the prepare part): it creates the staging folder, reports "ready", then
// obeys one line at a time on its stdin. End of input (dockform is gone, e.g.
// killed) leaves everything as it is: the next run finishes or removes it.
constexpr const char* kControlScript = R"sh(mkdir ".dockform-restore-$sid" || exit 112
echo ready
flushed=0
while read -r cmd; do
  case $cmd in
    flush) flush_fs; flushed=1; echo flushed ;;
    go)
      # The new content is live at phase 3; the old one is removed on the
      # next line, once the users run again (or by the next run).
      [ "$flushed" = 1 ] || flush_fs
      set_phase "$sid" 1 && move_old "$sid" && set_phase "$sid" 2 && move_new "$sid" && set_phase "$sid" 3 || exit 1
      echo live
      read -r cmd || exit 0
      finish_swap "$sid" 3 || exit 1
      echo swapped; exit 0 ;;
    *) rm -rf ".dockform-restore-$sid" || exit 1; echo abandoned; exit 0 ;;
  esac
done
)sh";
}  // namespace

VolumeState parse_volume_state(const std::string& output) {
  VolumeState state;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("entries=", 0) == 0) state.entries = std::stoull(line.substr(8));
    if (line.rfind("free_kb=", 0) == 0) state.free_bytes = std::stoull(line.substr(8)) * 1024;
    if (line.rfind("recovered=", 0) == 0) state.recovered.push_back(line.substr(10));
  }
  return state;
}

VolumeState prepare_volume(engine::Engine& engine, const std::string& image, const std::string& volume) {
  auto result = run_helper(engine, control_spec(image, volume, kPrepareScript));
  if (result.exit_code != 0) {
    throw Error("could not inspect volume " + volume + " (helper exit " + std::to_string(result.exit_code) +
                "): " + trimmed(result.err));
  }
  return parse_volume_state(result.out);
}

std::string new_staging_id() {
  std::mt19937_64 rng{std::random_device{}()};
  static const char* chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 12; ++i) out.push_back(chars[rng() % 36]);
  return out;
}

HelperSpec restore_helper_spec(const std::string& image, const std::string& volume, const std::string& id) {
  auto spec = volume_helper_spec(image, volume,
                                 std::string(kSwapFunctions) + "sid=" + id + "\n" + kPrepareScript + kControlScript,
                                 {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "MKNOD", "SETFCAP"}, false);
  spec.with_stdin = true;
  return spec;
}

std::string extract_script(const std::string& id) {
  return "cd /volume/.dockform-restore-" + id + R"sh( || exit 111
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  exec tar --extract --file=- --numeric-owner --same-owner --same-permissions \
       --acls --xattrs --xattrs-include='*'
fi
exec tar -xf - --numeric-owner
)sh";
}

void remove_staging(engine::Engine& engine, const std::string& image, const std::string& volume,
                    const std::string& id) {
  auto result = run_helper(engine, control_spec(image, volume, "rm -rf .dockform-restore-" + id + "\n"));
  if (result.exit_code != 0) {
    throw Error("removing .dockform-restore-" + id + " failed (exit " + std::to_string(result.exit_code) +
                "): " + trimmed(result.err));
  }
}

std::vector<std::string> finish_interrupted_restore(engine::Engine& engine, const std::string& image,
                                                    const std::string& volume) {
  auto listing =
      run_helper(engine, volume_helper_spec(image, volume, kLeftoverScript, {"DAC_READ_SEARCH", "DAC_OVERRIDE"}, true));
  if (listing.exit_code != 0) {
    throw Error("could not inspect volume " + volume + " (helper exit " + std::to_string(listing.exit_code) +
                "): " + trimmed(listing.err));
  }
  auto first = trimmed(listing.out).substr(0, listing.out.find('\n'));
  if (first.empty()) return {};
  spdlog::warn("volume {}: found {} left by an interrupted restore; finishing that restore before the snapshot", volume,
               first);
  VolumeLock lock(engine, image, volume);
  auto state = prepare_volume(engine, image, volume);
  for (const auto& line : state.recovered) spdlog::warn("volume {}: {}", volume, line);
  return state.recovered;
}

}  // namespace dockform::volume
