#include "dockform/archive/spec_hash.hpp"

#include "dockform/util/sha256.hpp"

namespace dockform::archive {

namespace {
// std::map iterates keys in bytewise order, which is what the format asks for.
std::string join_pairs(const std::map<std::string, std::string>& pairs) {
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out += ';';
    out += key + '=' + value;
  }
  return out;
}
}  // namespace

std::string spec_text(const std::string& driver, const std::map<std::string, std::string>& opts,
                      const std::map<std::string, std::string>& labels) {
  return "driver=" + driver + "|opts=" + join_pairs(opts) + "|labels=" + join_pairs(labels);
}

std::string spec_hash(const std::string& driver, const std::map<std::string, std::string>& opts,
                      const std::map<std::string, std::string>& labels) {
  return util::sha256_hex(spec_text(driver, opts, labels)).substr(0, 8);
}

}  // namespace dockform::archive
