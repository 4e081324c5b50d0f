#pragma once

namespace dockform {
const char* version();
const char* git_commit();
}  // namespace dockform
