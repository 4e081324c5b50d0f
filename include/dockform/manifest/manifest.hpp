#pragma once
// The dockform manifest (dockform.yml): discovery, interpolation,
// validation.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "dockform/util/error.hpp"

namespace dockform::manifest {

// Thrown for every manifest problem. what() reads "FILE:LINE:COL: message"
// (LINE and COL are 1-based) whenever a position is known.
class ManifestError : public Error {
 public:
  explicit ManifestError(const std::string& message) : Error(message, Exit::manifest) {}
};

using StringMap = std::map<std::string, std::string>;

struct Volume {
  std::string name;
  std::string driver = "local";
  StringMap driver_opts;
  StringMap labels;
  // Paths left out of its snapshots (globs relative to the volume root, `**`
  // allowed; a folder pattern leaves out the whole subtree).
  std::vector<std::string> exclude;
};

struct Network {
  std::string name;
  std::string driver = "bridge";
  StringMap options;
};

// `snapshots.keep`: the retention `volume prune` applies when it is given no
// --keep-* flag (the systemd timer's runs need no flags). A rule left out is 0.
struct KeepSettings {
  int last = 0;
  int daily = 0;
  int weekly = 0;
  int monthly = 0;
};

// The `snapshots:` block: where snapshots go, how many are kept and whom they
// are encrypted to, for runs from cron or the systemd timer.
// Public keys only: a secret (identity, passphrase) is refused in a manifest.
struct SnapshotSettings {
  std::vector<std::string> recipients;                   // age1... keys, checked at load
  std::optional<std::filesystem::path> recipients_file;  // relative to the manifest's folder
  // A folder (relative to the manifest's folder) or s3://BUCKET[/PREFIX]; -o wins.
  std::optional<std::string> destination;
  std::optional<KeepSettings> keep;
  // Into a repository, one snapshot in this many reads every file, not only
  // those whose metadata changed (--full-read; 0: only when asked).
  int full_read_every = 0;
};

// The `notifications:` block: where runs from cron report (docs/cron.md).
// Flags and environment variables take precedence.
struct NotificationSettings {
  std::optional<std::string> ping;  // healthchecks.io protocol
  std::vector<std::string> webhooks;
  std::optional<std::string> webhook_on;  // failure|always
  std::optional<std::string> metrics_file;
  std::optional<std::string> metrics_push;
};

struct Manifest {
  std::filesystem::path file;  // absolute path of the manifest file
  std::filesystem::path dir;   // its folder; snapshots default to dir/.dockform/snapshots
  std::string context = "default";
  bool context_given = false;  // docker.context is in the file (else: the Docker CLI's own choice)
  std::string identifier;
  std::optional<std::string> helper_image;  // docker.helper_image
  std::map<std::string, Volume> volumes;    // declared volumes, fileset target_volumes included
  std::map<std::string, Network> networks;
  SnapshotSettings snapshots;
  NotificationSettings notifications;

  bool declares_volume(const std::string& name) const { return volumes.count(name) != 0; }
};

// Looks up an environment variable; std::nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Resolves -c/--config: empty -> current folder; a folder -> the first of
// dockform.yml, dockform.yaml, Dockform.yml, Dockform.yaml; a file -> itself.
std::filesystem::path find_manifest(const std::string& config_flag);

// Compose-style interpolation of one value: ${VAR}, ${VAR:-d}, ${VAR-d},
// ${VAR:?msg}, ${VAR?msg}, $VAR and $$. Throws std::invalid_argument with a
// message (no position) on a malformed reference or a :? / ? failure.
std::string interpolate(const std::string& text, const EnvLookup& env);

// Reads, interpolates and validates a manifest file.
Manifest load_manifest(const std::filesystem::path& file, const EnvLookup& env = process_env());
// Same, from text already in memory (tests, fuzzing); `file` names it in errors.
Manifest parse_manifest(const std::string& text, const std::filesystem::path& file,
                        const EnvLookup& env = process_env());

}  // namespace dockform::manifest
