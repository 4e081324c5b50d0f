#pragma once

#include <archive.h>

#include <string>

namespace dockform::helper {

// A reader for the tar family (pax, ustar, GNU, busybox), no decompression:
// dockform decompresses before the stream reaches the helper.
archive* new_tar_reader();

// Extracts the tar stream `reader` (opened) into `dest`, which must exist;
// the process moves into `dest`. Returns the exit code. Absolute paths, ".."
// components, paths through a symlink and hard links leaving `dest` stop the
// extraction with an "unsafe_path" error before anything is written for them.
int extract(archive* reader, const std::string& dest);

// extract() reading stdin.
int extract_stdin(const std::string& dest);

}  // namespace dockform::helper
