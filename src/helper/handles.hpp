// Owners for the libarchive objects the helper juggles (file descriptors:
// util::Fd). Every one is released on every path, errors included.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>
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

// archive_error_string() may return NULL.
inline std::string_view error_of(archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? std::string_view(message) : std::string_view("unknown libarchive error");
}

}  // namespace dockform::helper
