// dockform-helper: snapshots and restores a volume from inside a container
// that has nothing else in it (no shell, no libc, no /etc/passwd).
//
//   dockform-helper create ROOT [--exclude PATTERN]... [--estimate] [--stat]
//                   [--previous FILE --marker NONCE]      pax tar on stdout
//   dockform-helper extract DEST [--no-privileged-bits] [--only PATH]...
//                                                         tar from stdin
//       (extract.hpp: a staging folder as DEST, archives made elsewhere)
//   dockform-helper snapshot ROOT [options of create]    create, refused
//       (exit 113) while ROOT holds what an interrupted restore left
//   dockform-helper prepare ROOT                          recovery, report
//   dockform-helper restore ROOT ID [--path PATH]...      staging and swap
//       (of the subtrees at PATH only, with --path: swap.hpp)
//   dockform-helper leftovers ROOT                        reserved names
//   dockform-helper remove ROOT NAME                      rm -rf a reserved name
//   dockform-helper lease SECONDS                         lock heartbeat
//   dockform-helper --channel DIR create|snapshot|extract ...
//       the archive through DIR/socket instead of stdout/stdin (channel.hpp)
//
// swap.hpp describes the volume-root protocol (prepare, restore, leftovers,
// remove), restore.hpp the restore's commands, lease.hpp the lease.
//
// stdout carries the tar stream (create, snapshot) or protocol lines, one
// write each: "recovered=...", "entries=N", "free_kb=K" (prepare and
// restore), "ready", "flushed", "live", "swapped", "abandoned" (restore),
// reserved names (leftovers). Messages are JSON lines on stderr
// (report.hpp); create and extract end with
//   {"level":"info","kind":"done","entries":N,"bytes":M}
// with N the entries restored, or the members of create (below), and M the
// bytes of tar stream written or read; with --estimate, create and snapshot
// first report
//   {"level":"info","kind":"estimate","bytes":B}
// about the bytes the stream will have (the full stream's, also with
// --previous).
//
// The members of a create or snapshot are numbered from 0 (the root) in
// stream order; a member the stream leaves out as unchanged (below) keeps
// its number, a marker entry has none. With --stat, create and snapshot
// report every member's inode and change time, in order, in lines of up to
// 512 members, the last one before "done":
//   {"level":"info","kind":"stat","first":N,"members":[[INO,CTIME_SEC,CTIME_NSEC],...]}
// With --previous FILE --marker NONCE (NONCE 16 lowercase hex characters;
// FILE's records: previous.hpp), a member that FILE lists under its path
// with the same type, inode, change and modification times (and size, for
// a file; a hard link must also name a path FILE lists as the first member
// of that inode) is unchanged: its data is not read, nothing of it is
// written, but hard links after it name it as in a full stream. Each run
// of unchanged members with consecutive previous numbers FIRST to
// FIRST+COUNT-1 becomes one empty file ./.dfsame.NONCE.FIRST.COUNT (one
// 512-byte ustar block, mode 0600, 0:0, mtime 0) where they would be, for
// the host to replace with the previous snapshot's bytes of those members;
// "done" then also says "unchanged":K. A malformed FILE is an error
// (kind "previous") before any byte of the stream.
//
// Exit: 0 success (warnings allowed), 1 error, 2 usage, 112 staging folder
// not made (restore), 113 leftovers (snapshot), 114 no channel.
#include <archive.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channel.hpp"
#include "create.hpp"
#include "dockform/util/subtree.hpp"
#include "extract.hpp"
#include "glob.hpp"
#include "lease.hpp"
#include "previous.hpp"
#include "report.hpp"
#include "restore.hpp"
#include "swap.hpp"

namespace {

using namespace dockform::helper;

// The protocol the subcommands speak; dockform can check it with --version.
// 3: extract takes --no-privileged-bits; 4: --channel; 5: extract --only, restore --path;
// 6: create and snapshot take --stat, --previous and --marker
constexpr int kProtocolVersion = 6;
constexpr int kMinLeaseSeconds = 2;
constexpr int kMaxLeaseSeconds = 3600;

int usage(std::string_view message) {
  report("error", "usage", {},
         std::string(message) +
             "; usage: dockform-helper create ROOT [--exclude PATTERN]... [--estimate] [--stat] "
             "[--previous FILE --marker NONCE] | "
             "extract DEST [--no-privileged-bits] [--only PATH]... | "
             "snapshot ROOT (the options of create) | prepare ROOT | restore ROOT ID [--path PATH]... | "
             "leftovers ROOT | "
             "remove ROOT NAME | lease SECONDS | --version; --channel DIR before create, snapshot or extract");
  return 2;
}

// Parses the options after ROOT; false after a usage error.
bool parse_create_options(int argc, char** argv, CreateOptions& options) {
  std::optional<std::string> marker;
  for (int i = 3; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--estimate") {
      options.estimate = true;
    } else if (arg == "--stat") {
      options.stat = true;
    } else if (arg == "--exclude" && i + 1 < argc) {
      options.excludes.add(argv[++i]);
    } else if (arg.starts_with("--exclude=")) {
      options.excludes.add(std::string(arg.substr(10)));
    } else if (arg == "--previous" && i + 1 < argc) {
      options.previous = argv[++i];
    } else if (arg == "--marker" && i + 1 < argc) {
      marker = argv[++i];
    } else {
      usage("unexpected argument " + std::string(arg));
      return false;
    }
  }
  if (options.previous.has_value() != marker.has_value()) {
    usage("--previous and --marker go together");
    return false;
  }
  // The marker's name must not be one a volume can hold by chance.
  if (marker && !is_nonce(*marker)) {
    usage("--marker: NONCE must be 16 lowercase hex characters, not " + *marker);
    return false;
  }
  options.marker = marker.value_or("");
  return true;
}

// A path of --only or --path: normalised already, never the root, no "..",
// not one of the reserved names. Appended to `paths`; false after a usage error.
bool checked_path(std::string_view path, std::vector<std::string>& paths) {
  auto problem = dockform::subtree::restore_path_problem(path);
  if (problem.empty() && dockform::subtree::normalise(path) != path) problem = "not in normal form";
  if (!problem.empty()) {
    usage("path " + std::string(path) + ": " + problem);
    return false;
  }
  paths.emplace_back(path);
  return true;
}

int run_extract(int argc, char** argv) {
  if (argc < 3) return usage("extract needs DEST");
  ExtractOptions options;
  for (int i = 3; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--no-privileged-bits") {
      options.no_privileged_bits = true;
    } else if (arg == "--only" && i + 1 < argc) {
      if (!checked_path(argv[++i], options.only)) return 2;
    } else {
      return usage("unexpected argument " + std::string(arg));
    }
  }
  return extract_stdin(argv[2], options);
}

int run_create(int argc, char** argv, bool refuse_leftovers) {
  if (argc < 3) return usage("create and snapshot need ROOT");
  CreateOptions options;
  if (!parse_create_options(argc, argv, options)) return 2;
  if (refuse_leftovers) {
    if (int code = check_no_leftovers(argv[2]); code != 0) return code;
  }
  return create(argv[2], options);
}

int run_restore(int argc, char** argv) {
  if (argc < 4) return usage("restore needs ROOT and ID");
  // IDs become names at the volume root and words of protocol lines.
  if (!dockform::names::is_id(argv[3])) return usage("restore: ID must be 1 to 64 letters, digits, '-' or '_'");
  std::vector<std::string> paths;
  for (int i = 4; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--path" || i + 1 >= argc)
      return usage("unexpected argument " + std::string(argv[i]));
    if (!checked_path(argv[++i], paths)) return 2;
  }
  return restore_command(argv[2], argv[3], dockform::subtree::outermost(std::move(paths)));
}

int run_remove(int argc, char** argv) {
  if (argc != 4) return usage("remove needs ROOT and NAME");
  std::string_view name = argv[3];
  if (!is_ours(name) || name.find('/') != std::string_view::npos) {
    return usage(
        "remove: NAME must be a reserved name at the root (.dockform-restore-*, .dockform-old-*, "
        ".dockform-swap-*), not " +
        std::string(name));
  }
  return remove_command(argv[2], argv[3]);
}

int run_lease(int argc, char** argv) {
  if (argc != 3) return usage("lease needs SECONDS");
  std::string_view text = argv[2];
  bool digits = !text.empty() && text.size() <= 4 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  int seconds = digits ? std::stoi(std::string(text)) : 0;
  if (seconds < kMinLeaseSeconds || seconds > kMaxLeaseSeconds) return usage("lease: SECONDS must be 2 to 3600");
  return lease_command(seconds);
}

int run_one_root(std::string_view command, int argc, char** argv) {
  if (argc != 3) return usage(std::string(command) + " needs exactly ROOT");
  return command == "prepare" ? prepare_command(argv[2]) : leftovers_command(argv[2]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("missing command");
  if (std::string_view(argv[1]) == "--channel") {
    if (argc < 4) return usage("--channel needs DIR and a command");
    std::string_view command = argv[3];
    if (command != "create" && command != "snapshot" && command != "extract") {
      return usage("--channel goes with create, snapshot or extract");
    }
    if (!open_channel(argv[2], command == "extract" ? 0 : 1)) return kNoChannelExit;
    argc -= 2;
    argv += 2;
  }
  std::string_view command = argv[1];
  if (command == "create") return run_create(argc, argv, false);
  if (command == "snapshot") return run_create(argc, argv, true);
  if (command == "extract") return run_extract(argc, argv);
  if (command == "prepare" || command == "leftovers") return run_one_root(command, argc, argv);
  if (command == "restore") return run_restore(argc, argv);
  if (command == "remove") return run_remove(argc, argv);
  if (command == "lease") return run_lease(argc, argv);
  if (command == "--version") {
    report("info", "version", {},
           "dockform-helper protocol " + std::to_string(kProtocolVersion) + " (create extract snapshot prepare " +
               "restore leftovers remove lease); " + archive_version_string());
    return 0;
  }
  return usage("unknown command " + std::string(command));
}
