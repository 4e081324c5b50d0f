#pragma once

#include <archive.h>

#include <string>
#include <vector>

namespace dockform::helper {

// A reader for the tar family (pax, ustar, GNU, busybox), no decompression:
// dockform decompresses before the stream reaches the helper.
archive* new_tar_reader();

struct ExtractOptions {
  // For archives made elsewhere: the setuid and setgid bits of every member
  // but folders are cleared, no security.capability is set and block and
  // character devices are skipped, each with a "privileged" warning naming
  // the path. (A folder's setgid bit only passes its group on; a FIFO
  // reaches nothing.)
  bool no_privileged_bits = false;
  // `restore --path`: only the members at or below these normalised paths,
  // and the folders above them (for parents the volume lacks); none: all.
  // A hard link whose target lies outside them stops the extraction.
  std::vector<std::string> only;
};

// Extracts the tar stream `reader` (opened) into `dest`, which must exist;
// the process moves into `dest`. Returns the exit code. Absolute paths, ".."
// components, paths through a symlink and hard links leaving `dest` stop the
// extraction with an "unsafe_path" error before anything is written for them.
// When `dest` is a restore's staging folder (.dockform-restore-ID), an archive
// without a root member ("./") leaves it with the owner, mode, extended
// attributes and ACLs of its parent, the volume root: the swap copies the
// staging folder's onto the root. Any other `dest` keeps its own.
int extract(archive* reader, const std::string& dest, const ExtractOptions& options = {});

// extract() reading stdin.
int extract_stdin(const std::string& dest, const ExtractOptions& options);

}  // namespace dockform::helper
