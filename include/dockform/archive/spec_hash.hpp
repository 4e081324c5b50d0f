#pragma once
#include <map>
#include <string>

namespace dockform::archive {
// "driver=D|opts=k=v;k=v|labels=k=v;k=v": keys sorted bytewise, pairs joined
// by ';', an empty map giving an empty segment (the text dockform 0.5.x hashes).
std::string spec_text(const std::string& driver, const std::map<std::string, std::string>& opts,
                      const std::map<std::string, std::string>& labels);
// First 8 hex digits of the SHA-256 of spec_text().
std::string spec_hash(const std::string& driver, const std::map<std::string, std::string>& opts,
                      const std::map<std::string, std::string>& labels);
}  // namespace dockform::archive
