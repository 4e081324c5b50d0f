#pragma once
// What several unit test files need: a private temporary folder, whole-file
// reads and writes, reproducible random bytes, a fixed environment, Docker CLI
// contexts on disk, and the exception an action must throw.
#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

#include "dockform/util/error.hpp"

namespace dockform::test {

// A fresh folder, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dockform-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to the file `name` in the folder; returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const std::filesystem::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `bytes` to `file`, making its missing parent folders first.
inline void write_plain(const std::filesystem::path& file, const std::string& bytes) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << bytes;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// `size` bytes from a generator seeded with `seed`: the same every run.
inline std::string random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xffu);
  return out;
}

// An environment made of a fixed map: nothing is read from the real one.
inline std::function<std::optional<std::string>(const std::string&)> env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

// A Docker CLI context's meta.json: `name` with the docker endpoint `host`.
inline std::string context_meta(const std::string& name, const std::string& host, bool skip_tls_verify = false) {
  return R"({"Name":")" + name + R"(","Metadata":{},"Endpoints":{"docker":{"Host":")" + host + R"(","SkipTLSVerify":)" +
         (skip_tls_verify ? "true" : "false") + "}}}";
}

// Writes a context into the Docker config folder `config_dir` as `docker
// context create` lays it out: contexts/meta/<sha256 hex of its name>/meta.json.
// `name_hash` is passed in (computed with sha256sum) so that a test does not
// rely on the code under test's own hashing.
inline void write_context(const std::filesystem::path& config_dir, const std::string& name_hash,
                          const std::string& meta_json) {
  write_plain(config_dir / "contexts" / "meta" / name_hash / "meta.json", meta_json);
}

// Runs `action`, which must throw an `E` (dockform::Error unless named); returns
// a copy of what it threw. When it throws nothing or another type, a test
// failure is recorded and an `E` saying so is returned.
template <typename E = Error>
E thrown_by(const std::function<void()>& action) {
  static_assert(std::is_constructible_v<E, std::string>, "the fallback needs E(std::string)");
  try {
    action();
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another type than expected: " << e.what();
    return E(std::string("(threw another type)"));
  }
  ADD_FAILURE() << "did not throw";
  return E(std::string("(did not throw)"));
}

// The message of the `E` that `action` throws (see thrown_by).
template <typename E = Error>
std::string message_of(const std::function<void()>& action) {
  return thrown_by<E>(action).what();
}

// `action` throws a dockform::Error with exit code `code` whose message holds `part`.
inline void expect_error(const std::function<void()>& action, Exit code, const std::string& part) {
  const Error error = thrown_by(action);
  EXPECT_EQ(error.code(), code) << error.what();
  EXPECT_TRUE(contains(error.what(), part)) << "[" << part << "] not in: " << error.what();
}

}  // namespace dockform::test
