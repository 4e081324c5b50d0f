#pragma once
#include <map>
#include <string>

namespace dockform::archive {
// design-notes §4: "driver=D|opts=k=v;k=v|labels=k=v;k=v", keys sorted bytewise.
std::string spec_text(const std::string& driver, const std::map<std::string, std::string>& opts,
                      const std::map<std::string, std::string>& labels);
// First 8 hex digits of the SHA-256 of spec_text().
std::string spec_hash(const std::string& driver, const std::map<std::string, std::string>& opts,
                      const std::map<std::string, std::string>& labels);
}  // namespace dockform::archive
