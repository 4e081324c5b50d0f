// dockform-helper: snapshots and restores a volume from inside a container
// that has nothing else in it (no shell, no libc, no /etc/passwd).
//
//   dockform-helper create ROOT [--exclude PATTERN]...   pax tar on stdout
//   dockform-helper extract DEST                         tar from stdin
//
// Messages are JSON lines on stderr (report.hpp); the last one is
//   {"level":"info","kind":"done","entries":N,"bytes":M}
// with N the entries written or restored and M the bytes of tar stream
// written or read. Exit: 0 success (warnings allowed), 1 error, 2 usage.
#include <archive.h>

#include <cstring>
#include <string>
#include <string_view>

#include "create.hpp"
#include "extract.hpp"
#include "glob.hpp"
#include "report.hpp"

namespace {

using namespace dockform::helper;

int usage(std::string_view message) {
  report("error", "usage", {},
         std::string(message) +
             "; usage: dockform-helper create ROOT [--exclude PATTERN]... | dockform-helper extract DEST");
  return 2;
}

int run_create(int argc, char** argv) {
  if (argc < 3) return usage("create needs ROOT");
  Excludes excludes;
  for (int i = 3; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--exclude" && i + 1 < argc) {
      excludes.add(argv[++i]);
    } else if (arg.starts_with("--exclude=")) {
      excludes.add(std::string(arg.substr(10)));
    } else {
      return usage("unexpected argument " + std::string(arg));
    }
  }
  return create(argv[2], excludes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("missing command");
  std::string_view command = argv[1];
  if (command == "create") return run_create(argc, argv);
  if (command == "extract") {
    if (argc != 3) return usage("extract needs exactly DEST");
    return extract_stdin(argv[2]);
  }
  if (command == "--version") {
    report("info", "version", {}, archive_version_string());
    return 0;
  }
  return usage("unknown command " + std::string(command));
}
