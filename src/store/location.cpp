#include "dockform/store/location.hpp"

#include <stdexcept>

namespace dockform::store {

Location Location::local(const std::filesystem::path& path) { return Location(Kind::local, "", path.string()); }
Location Location::stream() { return Location(Kind::stream, "", "-"); }
Location Location::remote(std::string scheme, std::string url) {
  return Location(Kind::remote, std::move(scheme), std::move(url));
}

std::filesystem::path Location::path() const {
  if (kind_ != Kind::local) throw std::logic_error("not a local path: " + text_);
  return text_;
}

std::string Location::filename() const {
  if (kind_ == Kind::local) return path().filename().string();
  auto slash = text_.rfind('/');
  return slash == std::string::npos ? text_ : text_.substr(slash + 1);
}

Location Location::operator/(const std::string& name) const {
  if (kind_ == Kind::local) return local(path() / name);
  if (kind_ == Kind::remote) return remote(scheme_, text_ + "/" + name);
  throw std::logic_error("the standard streams hold no files");
}

}  // namespace dockform::store
