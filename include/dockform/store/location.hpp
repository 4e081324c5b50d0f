#pragma once
// Where snapshots are: a local path, a backend's URL (s3://BUCKET[/PREFIX]),
// or "-", the standard streams (`snapshot -o -`, `restore VOLUME -`).
// Parsed once, where the command line is read; below that, code asks the
// location what it is and never looks at the text again.
#include <filesystem>
#include <string>
#include <string_view>

namespace dockform::store {

class Location {
 public:
  // An empty local path: no location yet.
  Location() : Location(Kind::local, "", "") {}
  // "-": the standard streams; "SCHEME://...": that backend's (the URL
  // checked and written one way); anything else: a local path, made
  // absolute. Throws Error (usage) on a malformed URL. Defined beside the
  // table of backends (store.cpp).
  static Location parse(std::string_view text);
  static Location local(const std::filesystem::path& path);
  static Location stream();
  // `url` as the backend named by `scheme` writes it.
  static Location remote(std::string scheme, std::string url);

  bool is_stream() const { return kind_ == Kind::stream; }
  bool is_local() const { return kind_ == Kind::local; }
  // The backend's scheme ("s3"); empty for a local path and the streams.
  const std::string& scheme() const { return scheme_; }
  // The path, the URL or "-": what messages and results show.
  const std::string& text() const { return text_; }
  // A local location's path.
  std::filesystem::path path() const;
  // The last part of the path or URL: a file's name.
  std::string filename() const;
  // The location of `name` inside this folder (or prefix).
  Location operator/(const std::string& name) const;

  bool operator==(const Location&) const = default;

 private:
  enum class Kind { local, remote, stream };
  Location(Kind kind, std::string scheme, std::string text)
      : kind_(kind), scheme_(std::move(scheme)), text_(std::move(text)) {}

  Kind kind_;
  std::string scheme_;
  std::string text_;
};

}  // namespace dockform::store
