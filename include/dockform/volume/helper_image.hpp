#pragma once
// What every volume container runs: dockform-helper (src/helper/), a static
// executable built beside dockform (installed under libexec/dockform/). By default it runs alone in an image
// that dockform makes inside the engine from that binary, once per engine
// and helper build (no registry involved). With --helper-image the user's
// image is used instead and the binary is copied into each container before
// it starts, so any image gives the same archives.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"

namespace dockform::volume {

// Where the binary sits inside every helper container.
inline constexpr const char* kHelperPath = "/dockform-helper";
// The built-in image's repository; its tag is dockform's version and the
// start of the binary's SHA-256, e.g. dockform-helper:0.6.0-3f2a9c01b7de.
inline constexpr const char* kBuiltinImageRepo = "dockform-helper";

struct HelperImage {
  std::string name;  // the image the containers run
  // Set for a user's image: a tar holding the binary, unpacked at / of each
  // container before it starts.
  std::shared_ptr<const std::string> binary_tar;
};

// Where the Debian package installs the helper.
inline constexpr const char* kPackagedHelperPath = "/usr/libexec/dockform/dockform-helper";

// The places dockform looks for the helper, in order: $DOCKFORM_HELPER_BINARY
// alone when it is set; else beside the running dockform (the build folder),
// then PREFIX/libexec/dockform/ for a dockform in PREFIX/bin (`cmake --install`
// under any prefix), then /usr/libexec/dockform/ (the package).
std::vector<std::filesystem::path> helper_binary_candidates();
// The first of those that is a file; the first of them when none is.
std::filesystem::path helper_binary_path();

// The engine's name (Go's GOARCH: amd64, arm64, ...) for the machine an ELF
// executable is built for; "" when the bytes are no ELF file or the machine
// is not one we know.
std::string elf_architecture(std::string_view bytes);

// The image for this run. Refuses (Exit::refused) when the engine runs on
// another architecture than the helper is built for. `user_image` empty:
// the built-in image, imported when the engine does not have it yet; else
// the user's image, pulled when missing.
HelperImage resolve_helper_image(engine::Engine& engine, const std::string& user_image);

// Creates a container of `config` (Image and Cmd are set here: the helper
// with `args`) and, for a user's image, copies the binary in.
std::string create_helper_container(engine::Engine& engine, const HelperImage& image, engine::json config,
                                    const std::vector<std::string>& args, const std::string& name = "");

}  // namespace dockform::volume
