// Owners for the libarchive objects the helper juggles (file descriptors:
// util::Fd). Every one is released on every path, errors included.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace dockform::helper {

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct LinkResolverFree {
  void operator()(archive_entry_linkresolver* r) const { archive_entry_linkresolver_free(r); }
};

// archive_read_new(), archive_read_disk_new()
using ReadArchive = std::unique_ptr<archive, ReadFree>;
// archive_write_new(), archive_write_disk_new()
using WriteArchive = std::unique_ptr<archive, WriteFree>;
using Entry = std::unique_ptr<archive_entry, EntryFree>;
using LinkResolver = std::unique_ptr<archive_entry_linkresolver, LinkResolverFree>;

// libarchive's message, with the system's words for its errno when the
// message does not carry them ("Could not stat x" -> "...: File name too
// long"). archive_error_string() may return NULL.
inline std::string error_of(archive* a) {
  const char* message = archive_error_string(a);
  std::string text = message != nullptr ? message : "unknown libarchive error";
  int error = archive_errno(a);
  // libarchive's own codes: EILSEQ (bad format) and EINVAL (misuse) say
  // nothing its message does not; a negative one is "misc".
  if (error > 0 && error != EILSEQ && error != EINVAL) {
    std::string words = std::strerror(error);
    if (text.find(words) == std::string::npos) text += ": " + words;
  }
  return text;
}

}  // namespace dockform::helper
