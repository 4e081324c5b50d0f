#include "dockform/store/store.hpp"

#include <stdexcept>
#include <string_view>

#include "dockform/store/local/local_store.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/store/s3/s3_source.hpp"
#include "dockform/store/s3/s3_store.hpp"
#include "dockform/store/stream/stream.hpp"

namespace dockform::store {

namespace {
// A backend reached by a URL: SCHEME://...
struct Backend {
  std::string_view scheme;
  std::string (*normalize)(std::string_view url);  // throws Error (usage) when malformed
  std::unique_ptr<Store> (*open_store)(const Location& base);
  std::unique_ptr<archive::ByteSource> (*open_snapshot)(const Location& file);
  std::unique_ptr<archive::RandomAccess> (*open_random_access)(const Location& file);
  void (*check_sink_settings)();  // throws Error (usage) on a bad setting
};

// The dispatch: a new backend is a folder under store/ and one line here.
// A location without one of these schemes is a local path.
constexpr Backend kBackends[] = {
    {"s3", normalize_s3_url, open_s3_store, open_s3_snapshot, open_s3_random_access, check_s3_sink_settings},
};

// The backend whose URLs start like `text`, if any.
const Backend* backend_for_url(std::string_view text) {
  for (const auto& backend : kBackends) {
    if (text.starts_with(backend.scheme) && text.substr(backend.scheme.size()).starts_with("://")) return &backend;
  }
  return nullptr;
}

const Backend& backend_of(const Location& location) {
  for (const auto& backend : kBackends) {
    if (backend.scheme == location.scheme()) return backend;
  }
  throw std::logic_error("no backend for " + location.text());
}
}  // namespace

Location Location::parse(std::string_view text) {
  if (text == "-") return stream();
  if (const auto* backend = backend_for_url(text))
    return remote(std::string(backend->scheme), backend->normalize(text));
  return local(std::filesystem::absolute(text));
}

std::unique_ptr<Store> open_store(const Location& base) {
  // `list -o -` or `prune -o -`: a stream is one snapshot, not a place holding snapshots.
  if (base.is_stream()) {
    throw Error(
        "- is a stream (one snapshot on standard input or output), not a place holding snapshots: "
        "give a folder or s3://BUCKET[/PREFIX]",
        Exit::usage);
  }
  // A folder holding a repository's config is a repository (store/repo/).
  if (is_repository(base)) return open_repo_store(base);
  if (base.is_local()) return open_local_store(base);
  return backend_of(base).open_store(base);
}

void check_sink_settings(const Location& base) {
  if (base.is_stream() || base.is_local()) return;
  backend_of(base).check_sink_settings();
}

std::unique_ptr<archive::ByteSource> open_snapshot(const Location& file, const std::string& sidecar_file,
                                                   int stream_fd) {
  if (file.is_stream()) return open_stream_source(sidecar_file, stream_fd);
  if (!sidecar_file.empty()) throw Error("--sidecar FILE goes with - (standard input)", Exit::usage);
  if (auto ref = repository_ref(file)) return open_repo_snapshot(*ref);
  if (file.is_local()) return open_local_snapshot(file);
  return backend_of(file).open_snapshot(file);
}

std::unique_ptr<archive::RandomAccess> open_random_access(const Location& file) {
  if (file.is_stream()) return nullptr;
  if (auto ref = repository_ref(file)) return open_repo_random_access(*ref);
  if (file.is_local()) return std::make_unique<archive::LocalFile>(file.path().string());
  return backend_of(file).open_random_access(file);
}

}  // namespace dockform::store
