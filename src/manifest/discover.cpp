// Resolves the -c/--config flag to a manifest file: a file as given, or in a
// folder (default: the current one) dockform.yml, dockform.yaml, Dockform.yml
// or Dockform.yaml, the first that exists.
#include <array>
#include <filesystem>
#include <string>
#include <system_error>

#include "dockform/manifest/manifest.hpp"

namespace dockform::manifest {
namespace {

namespace fs = std::filesystem;

// Looked for in this order, as dockform 0.5 does.
constexpr std::array<const char*, 4> manifest_names{"dockform.yml", "dockform.yaml", "Dockform.yml", "Dockform.yaml"};

// Absolute and without "." parts or a trailing slash, so that messages and
// Manifest::dir read cleanly.
fs::path clean_absolute(const fs::path& path) {
  std::error_code ec;
  fs::path result = fs::absolute(path, ec);
  if (ec) throw ManifestError(path.string() + ": " + ec.message());
  result = result.lexically_normal();
  if (!result.has_filename() && result.has_relative_path()) result = result.parent_path();
  return result;
}

std::string looked_for() {
  std::string names;
  for (const char* name : manifest_names) {
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names;
}

}  // namespace

fs::path find_manifest(const std::string& config_flag) {
  const fs::path given = clean_absolute(config_flag.empty() ? fs::path(".") : fs::path(config_flag));
  std::error_code ec;
  const fs::file_status status = fs::status(given, ec);
  if (status.type() == fs::file_type::not_found) {
    throw ManifestError(given.string() + ": no such file or folder");
  }
  if (ec) throw ManifestError(given.string() + ": " + ec.message());
  if (!fs::is_directory(status)) return given;

  for (const char* name : manifest_names) {
    const fs::path candidate = given / name;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  throw ManifestError("no manifest found in " + given.string() + " (looked for " + looked_for() + ")");
}

}  // namespace dockform::manifest
