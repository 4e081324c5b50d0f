// A folder's own metadata copied onto another folder: what the swap does to
// the volume root, which cannot be renamed, after moving the staged content
// into it.
#pragma once

#include <sys/stat.h>

#include <string_view>

namespace dockform::helper {

// Copies owner, mode (setuid, setgid and sticky included), every extended
// attribute (ACLs are the system.posix_acl_* ones; names `to` has and `from`
// lacks are removed) and, last, the access and modification times in `st`
// (the state of `from` before its content was moved out, which changed its
// mtime). A failure is a "metadata" warning, not an error: the content is
// live by then, and a retry could not do better.
void copy_folder_metadata(int from, const struct stat& st, int to);

// The same without the times: owner, extended attributes and ACLs, mode;
// warnings name `path` (the folder `to`).
void copy_folder_attributes(int from, const struct stat& st, int to, std::string_view path);

}  // namespace dockform::helper
