#include "dockform/volume/helper_image.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

#include "dockform/util/error.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/sha256.hpp"
#include "dockform/util/version.hpp"

namespace dockform::volume {

namespace {

// One regular file in a tar, built in memory with libarchive. A fixed mtime
// and owner: the same binary always gives the same layer.
std::string single_file_tar(const std::string& name, const std::string& bytes) {
  std::string out;
  std::unique_ptr<::archive, decltype(&archive_write_free)> writer(archive_write_new(), archive_write_free);
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
  if (!writer || !entry) throw Error("out of memory building the helper's tar");
  auto on_write = [](::archive*, void* data, const void* buffer, size_t size) -> la_ssize_t {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), size);
    return static_cast<la_ssize_t>(size);
  };
  archive_write_set_format_ustar(writer.get());
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open(writer.get(), &out, nullptr, on_write, nullptr) != ARCHIVE_OK) {
    throw Error(std::string("building the helper's tar: ") + archive_error_string(writer.get()));
  }
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0755);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
  archive_entry_set_mtime(entry.get(), 0, 0);
  if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK ||
      archive_write_data(writer.get(), bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()) ||
      archive_write_close(writer.get()) != ARCHIVE_OK) {
    throw Error(std::string("building the helper's tar: ") + archive_error_string(writer.get()));
  }
  return out;
}

struct HelperBinary {
  std::filesystem::path path;
  std::string sha256;
  std::string architecture;
  // The binary as a one-file tar at the image's root, for the import of the
  // built-in image and for the copy into a user's image's containers.
  std::shared_ptr<const std::string> tar;
};

// Read once per process: every container of a run gets the same bytes.
const HelperBinary& helper_binary() {
  static std::once_flag once;
  static HelperBinary binary;
  static std::string failure;
  std::call_once(once, [] {
    binary.path = helper_binary_path();
    std::ifstream in(binary.path, std::ios::binary);
    if (!in) {
      std::string looked;
      for (const auto& place : helper_binary_candidates()) looked += (looked.empty() ? "" : ", ") + place.string();
      failure = "dockform-helper not found (looked at " + looked +
                "; it is built beside dockform and installed under libexec/dockform; DOCKFORM_HELPER_BINARY names "
                "another path)";
      return;
    }
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    binary.sha256 = util::sha256_hex(bytes);
    binary.architecture = elf_architecture(bytes);
    if (binary.architecture.empty()) failure = binary.path.string() + " is not a Linux executable dockform knows";
    binary.tar = std::make_shared<const std::string>(single_file_tar(std::string(kHelperPath).substr(1), bytes));
  });
  if (!failure.empty()) throw Error(failure);
  return binary;
}

// Image tags allow [A-Za-z0-9_.-]; a version such as 0.6.0+dirty is mapped.
std::string builtin_tag(const HelperBinary& binary) {
  std::string tag = std::string(version()) + "-" + binary.sha256.substr(0, 12);
  for (char& c : tag) {
    bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    if (!allowed) c = '_';
  }
  return tag;
}

// The helper cannot run on an engine of another architecture (e.g. an arm64
// host over ssh from an amd64 machine): refused before any container exists.
void check_architecture(engine::Engine& engine, const HelperBinary& binary) {
  auto about = engine.version();
  std::string os = about.value("Os", "linux");
  std::string arch = about.value("Arch", "");
  if (os == "linux" && (arch.empty() || arch == binary.architecture)) return;
  throw Error("the engine at " + engine.endpoint().url + " runs " + os + "/" + arch + ", but " + binary.path.string() +
                  " is built for linux/" + binary.architecture +
                  "; volume work runs this helper inside the engine. Use a dockform built for " + os + "/" + arch +
                  " (run on that host, or point DOCKFORM_HELPER_BINARY at a dockform-helper built for it)",
              Exit::refused);
}

void ensure_builtin(engine::Engine& engine, const HelperBinary& binary, const std::string& image) {
  if (engine.image_exists(image)) return;
  auto started = std::chrono::steady_clock::now();
  spdlog::info("creating helper image {} in the engine (once per engine and dockform build)", image);
  auto colon = image.rfind(':');
  engine.image_import(image.substr(0, colon), image.substr(colon + 1), *binary.tar);
  if (!engine.image_exists(image)) throw Error("helper image " + image + " is still missing after it was created");
  spdlog::info("helper image {} created in {:.1f} s", image,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

// Ends a progress line on the terminal, also when the pull is interrupted.
struct ClearPullLine {
  ~ClearPullLine() {
    if (util::Progress::enabled_for_stderr()) std::fprintf(stderr, "\r\033[K");
  }
};

void ensure_user_image(engine::Engine& engine, const std::string& image) {
  if (engine.image_exists(image)) return;
  spdlog::info("pulling helper image {}", image);
  try {
    ClearPullLine clear;
    std::string last;
    engine.image_pull(image, [&](const std::string& status) {
      if (util::Progress::enabled_for_stderr()) {
        std::fprintf(stderr, "\r\033[Kpull %s: %s", image.c_str(), status.c_str());
      } else if (status != last && status.find("Download") == std::string::npos) {
        spdlog::debug("pull {}: {}", image, status);
      }
      last = status;
    });
  } catch (const Error& e) {
    throw Error("helper image " + image + " is not available and could not be pulled (" + e.what() +
                "); choose another with --helper-image, DOCKFORM_HELPER_IMAGE or docker.helper_image in the "
                "manifest, or set none of them to use the built-in helper image");
  }
  if (!engine.image_exists(image)) {
    throw Error("helper image " + image +
                " is still missing after a pull; choose another with --helper-image, "
                "DOCKFORM_HELPER_IMAGE or docker.helper_image in the manifest");
  }
}
}  // namespace

std::vector<std::filesystem::path> helper_binary_candidates() {
  if (const char* env = std::getenv("DOCKFORM_HELPER_BINARY"); env != nullptr && *env != '\0') return {env};
  std::vector<std::filesystem::path> places;
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    places.push_back(self.parent_path() / "dockform-helper");
    places.push_back(self.parent_path().parent_path() / "libexec/dockform/dockform-helper");
  }
  std::filesystem::path packaged = kPackagedHelperPath;
  if (std::find(places.begin(), places.end(), packaged) == places.end()) places.push_back(packaged);
  return places;
}

std::filesystem::path helper_binary_path() {
  auto places = helper_binary_candidates();
  for (const auto& place : places) {
    std::error_code error;
    if (std::filesystem::is_regular_file(place, error)) return place;
  }
  return places.front();
}

std::string elf_architecture(std::string_view bytes) {
  // e_ident: 0x7f 'E' 'L' 'F', class, data (1: little endian); e_machine at 18.
  if (bytes.size() < 20 || bytes.substr(0, 4) !=
                               "\x7f"
                               "ELF") {
    return "";
  }
  bool little = bytes[5] == 1;
  auto b = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[i])); };
  unsigned machine = little ? (b(18) | b(19) << 8) : (b(18) << 8 | b(19));
  switch (machine) {
    case 62: return "amd64";
    case 183: return "arm64";
    case 40: return "arm";
    case 3: return "386";
    case 243: return "riscv64";
    case 22: return "s390x";
    case 21: return little ? "ppc64le" : "ppc64";
    default: return "";
  }
}

HelperImage resolve_helper_image(engine::Engine& engine, const std::string& user_image) {
  const auto& binary = helper_binary();
  check_architecture(engine, binary);
  HelperImage image;
  if (user_image.empty()) {
    image.name = std::string(kBuiltinImageRepo) + ":" + builtin_tag(binary);
    ensure_builtin(engine, binary, image.name);
    return image;
  }
  ensure_user_image(engine, user_image);
  image.name = user_image;
  image.binary_tar = binary.tar;
  return image;
}

std::string create_helper_container(engine::Engine& engine, const HelperImage& image, engine::json config,
                                    const std::vector<std::string>& args, const std::string& name) {
  engine::json cmd = engine::json::array({kHelperPath});
  for (const auto& arg : args) cmd.push_back(arg);
  config["Image"] = image.name;
  config["Cmd"] = cmd;
  // The user's image may set an entrypoint (a shell, an init): ours runs as is.
  config["Entrypoint"] = engine::json::array();
  std::string id = engine.container_create(config, name);
  if (!image.binary_tar) return id;
  try {
    engine.container_put_archive(id, "/", *image.binary_tar);
  } catch (...) {
    try {
      engine.container_remove(id);
    } catch (const std::exception& e) {
      spdlog::warn("could not remove helper container {}: {} (the next run removes it)", id.substr(0, 12), e.what());
    }
    throw;
  }
  return id;
}

}  // namespace dockform::volume
