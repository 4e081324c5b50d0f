// The one libarchive internal the helper defines itself.
//
// libarchive's pax writer calls __archive_write_entry_filetype_unsupported(),
// which lives in archive_write_set_format.o next to the table of every
// format writer. Linking that object statically drags in all writers (xar
// brings libxml2 and ICU): a 35 MB helper instead of ~1.2 MB. Defining the
// function here keeps the linker from pulling that object.
//
// The function is private to libarchive, so its signature may change: the
// build accepts only the libarchive version this was checked against
// (src/helper/CMakeLists.txt and the #error below). When upgrading, compare
// with libarchive/archive_write_set_format_private.h and
// archive_write_set_format.c of the new version.
//
// The helper never hands the writer a socket (it skips them), so this only
// runs for a file type pax cannot store: it just sets the error.
#include <archive.h>
#include <archive_entry.h>

#include <cerrno>

#if ARCHIVE_VERSION_NUMBER != 3006002
#error "libarchive_shim.cpp was checked against libarchive 3.6.2 only; see the comment above"
#endif

extern "C" void __archive_write_entry_filetype_unsupported(struct archive* a, struct archive_entry* entry,
                                                           const char* format) {
  const char* path = archive_entry_pathname(entry);
  archive_set_error(a, EINVAL, "%s: %s format cannot archive file type 0%o", path != nullptr ? path : "?", format,
                    static_cast<unsigned>(archive_entry_filetype(entry)));
}
