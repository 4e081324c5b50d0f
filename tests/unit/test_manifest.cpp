// Manifest discovery, parsing and validation, with exact error positions.
#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "dockform/manifest/manifest.hpp"
#include "test_support.hpp"

namespace dockform::manifest {
namespace {

namespace fs = std::filesystem;
using test::env_of;
using test::TempDir;

const std::string too_large = "manifest too large or too deeply nested";

Manifest parse(const std::string& text, const StringMap& vars = {}) {
  return parse_manifest(text, "dockform.yml", env_of(vars));
}

// The message of the ManifestError that parsing `text` throws.
std::string error_of(const std::string& text, const StringMap& vars = {}) {
  SCOPED_TRACE("parsing:\n" + text);
  const ManifestError e = test::thrown_by<ManifestError>([&] { parse(text, vars); });
  EXPECT_EQ(e.code(), Exit::manifest);
  return e.what();
}

const std::string header = "docker:\n  identifier: app\n";

// ---- valid manifests ------------------------------------------------------

TEST(Manifest, MinimalManifestGetsDefaults) {
  const Manifest m = parse(header);
  EXPECT_EQ(m.identifier, "app");
  EXPECT_EQ(m.context, "default");
  EXPECT_EQ(m.helper_image, std::nullopt);
  EXPECT_TRUE(m.volumes.empty());
  EXPECT_TRUE(m.networks.empty());
  EXPECT_EQ(m.file, fs::path("dockform.yml"));
}

TEST(Manifest, ReadsEverySetting) {
  const Manifest m = parse(R"(docker:
  context: remote
  identifier: my-project.v2_x
  helper_image: busybox:local
volumes:
  db_data:
    driver: local
    driver_opts: {type: none, o: bind, device: /srv/db}
    labels:
      tier: db
      replicas: 3
      backup: true
  empty_braces: {}
  empty_null:
networks:
  App-Net: {driver: overlay, options: {encrypted: "true"}}
  plain:
)");
  EXPECT_EQ(m.context, "remote");
  EXPECT_EQ(m.identifier, "my-project.v2_x");
  EXPECT_EQ(m.helper_image, "busybox:local");
  ASSERT_EQ(m.volumes.size(), 3u);
  const Volume& db = m.volumes.at("db_data");
  EXPECT_EQ(db.name, "db_data");
  EXPECT_EQ(db.driver, "local");
  EXPECT_EQ(db.driver_opts, (StringMap{{"type", "none"}, {"o", "bind"}, {"device", "/srv/db"}}));
  // Numbers and booleans are kept as written.
  EXPECT_EQ(db.labels, (StringMap{{"tier", "db"}, {"replicas", "3"}, {"backup", "true"}}));
  EXPECT_EQ(m.volumes.at("empty_braces").driver, "local");
  EXPECT_TRUE(m.volumes.at("empty_null").labels.empty());
  EXPECT_TRUE(m.declares_volume("empty_null"));
  ASSERT_EQ(m.networks.size(), 2u);
  EXPECT_EQ(m.networks.at("App-Net").driver, "overlay");
  EXPECT_EQ(m.networks.at("App-Net").options, (StringMap{{"encrypted", "true"}}));
  EXPECT_EQ(m.networks.at("plain").driver, "bridge");
}

TEST(Manifest, FilesetTargetVolumeCountsAsDeclared) {
  const Manifest m = parse(header + R"(filesets:
  assets:
    source: ./assets
    target_volume: app_assets
    target_path: /srv
    restart_services: [web]
    exclude: ["*.tmp"]
    apply_mode: hot
  config: {source: ./config, target_volume: app_config, target_path: /etc/app}
volumes:
  app_config:
    driver: special
)");
  ASSERT_EQ(m.volumes.size(), 2u);
  ASSERT_TRUE(m.declares_volume("app_assets"));
  EXPECT_EQ(m.volumes.at("app_assets").name, "app_assets");
  EXPECT_EQ(m.volumes.at("app_assets").driver, "local");
  // An explicit declaration keeps its settings, wherever the fileset is written.
  EXPECT_EQ(m.volumes.at("app_config").driver, "special");
  EXPECT_FALSE(m.declares_volume("assets"));
}

TEST(Manifest, IgnoredSectionsAcceptAnyContent) {
  const Manifest m = parse(header + R"(applications:
  web:
    root: ./web
    files: [compose.yml]
    weird: ${not interpolated}
environment:
  inline: [A=1, B=$(nothing)]
secrets:
  sops: [secrets.env]
sops:
  age: {key_file: ~/.config/sops/age/keys.txt}
)");
  EXPECT_EQ(m.identifier, "app");
}

TEST(Manifest, InterpolatesValuesButNotKeys) {
  const Manifest m = parse(R"(docker:
  identifier: ${PROJECT}
  context: ${CTX:-default}
volumes:
  data:
    labels:
      owner: $USER_NAME
      price: $$5
      ${KEY}: kept
)",
                           {{"PROJECT", "shop"}, {"USER_NAME", "ann"}, {"KEY", "replaced"}});
  EXPECT_EQ(m.identifier, "shop");
  EXPECT_EQ(m.context, "default");
  EXPECT_EQ(m.volumes.at("data").labels, (StringMap{{"owner", "ann"}, {"price", "$5"}, {"${KEY}", "kept"}}));
}

TEST(Manifest, VolumeNamesAreNotInterpolated) {
  EXPECT_EQ(error_of(header + "volumes:\n  ${NAME}: {}\n", {{"NAME", "data"}}),
            "dockform.yml:4:3: '${NAME}' is not a valid volume name: use lowercase letters a-z, "
            "digits, '_', '.' and '-' (but not '.' or '..' alone)");
}

TEST(Manifest, FixtureFileLoads) {
  const fs::path file = fs::path(DOCKFORM_TEST_DATA_DIR) / "full.yml";
  const Manifest m = load_manifest(file, env_of({{"DB_DEVICE", "/dev/sdb1"}}));
  EXPECT_EQ(m.file, fs::absolute(file).lexically_normal());
  EXPECT_EQ(m.dir, m.file.parent_path());
  EXPECT_EQ(m.identifier, "example");
  EXPECT_EQ(m.volumes.at("db_data").driver_opts.at("device"), "/dev/sdb1");
  EXPECT_EQ(m.volumes.at("db_data").labels.at("retention"), "30");
  EXPECT_TRUE(m.declares_volume("site_assets"));
  EXPECT_EQ(m.networks.at("web").driver, "bridge");
}

// ---- errors, each with its exact position ---------------------------------

TEST(ManifestErrors, BrokenYaml) {
  EXPECT_EQ(error_of(header + "   bad: x\n"), "dockform.yml:3:7: invalid YAML: illegal map value");
  EXPECT_EQ(error_of(header + "volumes: [a, b\n"), "dockform.yml:4:1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(error_of(header + "volumes:\n  data: *nowhere\n"),
            "dockform.yml:4:9: invalid YAML: the referenced anchor is not defined");
}

TEST(ManifestErrors, EmptyManifest) {
  EXPECT_EQ(error_of(""), "dockform.yml:1:1: manifest is empty");
  EXPECT_EQ(error_of("# only a comment\n"), "dockform.yml:1:1: manifest is empty");
  EXPECT_EQ(error_of("---\n"), "dockform.yml:1:1: manifest is empty");
}

TEST(ManifestErrors, DocumentMustBeAMapping) {
  EXPECT_EQ(error_of("- docker\n"), "dockform.yml:1:1: the manifest must be a mapping, got a sequence");
  EXPECT_EQ(error_of("just text\n"), "dockform.yml:1:1: the manifest must be a mapping, got a scalar");
}

TEST(ManifestErrors, OnlyOneDocument) {
  EXPECT_EQ(error_of(header + "---\nvolumes: {}\n"),
            "dockform.yml:3:1: a manifest holds one YAML document, found more");
}

TEST(ManifestErrors, StrayCommaEnds) {
  // yaml-cpp reads endless empty documents from this; the parser must stop.
  EXPECT_EQ(error_of(",\n" + header), "dockform.yml:1:1: a manifest holds one YAML document, found more");
}

TEST(ManifestErrors, UnknownTopLevelKey) {
  EXPECT_EQ(error_of(header + "volume:\n  data: {}\n"),
            "dockform.yml:3:1: unknown top-level key 'volume' (expected one of: docker, volumes, "
            "networks, filesets, snapshots, notifications, applications, environment, secrets, sops)");
}

TEST(ManifestErrors, MissingIdentifier) {
  EXPECT_EQ(error_of("volumes: {}\n"), "dockform.yml:1:1: missing required key docker.identifier");
  EXPECT_EQ(error_of("volumes: {}\ndocker:\n  context: default\n"),
            "dockform.yml:2:1: missing required key docker.identifier");
  EXPECT_EQ(error_of("volumes: {}\ndocker:\n"), "dockform.yml:2:1: missing required key docker.identifier");
}

TEST(ManifestErrors, BadIdentifier) {
  const std::string rule =
      " is not a valid identifier: use lowercase letters a-z, digits, '_', '.' and '-', starting "
      "with a letter or digit (it becomes a Docker label value)";
  EXPECT_EQ(error_of("docker:\n  identifier: MyApp\n"), "dockform.yml:2:15: docker.identifier: 'MyApp'" + rule);
  EXPECT_EQ(error_of("docker:\n  identifier: -app\n"), "dockform.yml:2:15: docker.identifier: '-app'" + rule);
  EXPECT_EQ(error_of("docker:\n  identifier: \"a b\"\n"), "dockform.yml:2:15: docker.identifier: 'a b'" + rule);
  EXPECT_EQ(error_of("docker:\n  identifier: ''\n"), "dockform.yml:2:15: docker.identifier: ''" + rule);
  // Checked after interpolation: an unset variable gives an empty identifier.
  EXPECT_EQ(error_of("docker:\n  identifier: ${NOPE}\n"), "dockform.yml:2:15: docker.identifier: ''" + rule);
  EXPECT_EQ(error_of("docker:\n  identifier:\n"), "dockform.yml:2:3: docker.identifier: expected a string, got null");
  EXPECT_EQ(error_of("docker:\n  identifier: [a]\n"),
            "dockform.yml:2:15: docker.identifier: expected a string, got a sequence");
}

TEST(ManifestErrors, BadVolumeName) {
  const std::string rule =
      " is not a valid volume name: use lowercase letters a-z, digits, '_', '.' and '-' (but not "
      "'.' or '..' alone)";
  EXPECT_EQ(error_of(header + "volumes:\n  good: {}\n  Bad_Name: {}\n"), "dockform.yml:5:3: 'Bad_Name'" + rule);
  EXPECT_EQ(error_of(header + "volumes:\n  a/b: {}\n"), "dockform.yml:4:3: 'a/b'" + rule);
  EXPECT_EQ(error_of(header + "volumes:\n  ..: {}\n"), "dockform.yml:4:3: '..'" + rule);
  EXPECT_EQ(error_of(header + "volumes:\n  \"\": {}\n"), "dockform.yml:4:3: ''" + rule);
}

TEST(ManifestErrors, BadNetworkName) {
  EXPECT_EQ(error_of(header + "networks:\n  _net: {}\n"),
            "dockform.yml:4:3: '_net' is not a valid network name: use letters, digits, '_', '.' "
            "and '-', starting with a letter or digit");
}

TEST(ManifestErrors, WrongTypes) {
  EXPECT_EQ(error_of(header + "volumes:\n  other: {}\n  data: [a]\n"),
            "dockform.yml:5:9: volumes.data: expected a mapping, got a sequence");
  EXPECT_EQ(error_of(header + "volumes:\n  data:\n  - a\n"),
            "dockform.yml:5:3: volumes.data: expected a mapping, got a sequence");
  EXPECT_EQ(error_of(header + "volumes: [data]\n"), "dockform.yml:3:10: volumes: expected a mapping, got a sequence");
  EXPECT_EQ(error_of("docker: app\n"), "dockform.yml:1:9: docker: expected a mapping, got a scalar");
  EXPECT_EQ(error_of(header + "volumes:\n  data:\n    driver: {name: x}\n"),
            "dockform.yml:5:13: volumes.data.driver: expected a string, got a mapping");
  EXPECT_EQ(error_of(header + "volumes:\n  data:\n    labels: [a=b]\n"),
            "dockform.yml:5:13: volumes.data.labels: expected a mapping, got a sequence");
  EXPECT_EQ(error_of(header + "volumes:\n  data:\n    labels:\n      a: [1]\n"),
            "dockform.yml:6:10: volumes.data.labels.a: expected a string, got a sequence");
  EXPECT_EQ(error_of(header + "volumes:\n  data:\n    labels:\n      a:\n"),
            "dockform.yml:6:7: volumes.data.labels.a: expected a string, got null");
  EXPECT_EQ(error_of(header + "networks:\n  n:\n    options: text\n"),
            "dockform.yml:5:14: networks.n.options: expected a mapping, got a scalar");
  EXPECT_EQ(error_of(header + "volumes:\n  [a]: {}\n"),
            "dockform.yml:4:3: volumes: keys must be scalars, got a sequence");
}

TEST(ManifestErrors, EmptySettings) {
  EXPECT_EQ(error_of(header + "  context: ''\n"), "dockform.yml:3:12: docker.context: must not be empty");
  EXPECT_EQ(error_of(header + "volumes:\n  data: {driver: \"\"}\n"),
            "dockform.yml:4:18: volumes.data.driver: must not be empty");
}

TEST(ManifestErrors, UnknownNestedKeys) {
  EXPECT_EQ(error_of(header + "  contxt: x\n"),
            "dockform.yml:3:3: unknown key 'docker.contxt' (expected one of: context, identifier, "
            "helper_image)");
  EXPECT_EQ(error_of(header + "volumes:\n  data:\n    drivers: local\n"),
            "dockform.yml:5:5: unknown key 'volumes.data.drivers' (expected one of: driver, "
            "driver_opts, labels, exclude)");
  EXPECT_EQ(error_of(header + "networks:\n  n: {opts: {}}\n"),
            "dockform.yml:4:7: unknown key 'networks.n.opts' (expected one of: driver, options)");
}

TEST(ManifestErrors, DuplicateKeys) {
  EXPECT_EQ(error_of(header + "volumes:\n  data: {}\n  data: {}\n"), "dockform.yml:5:3: duplicate key 'volumes.data'");
  EXPECT_EQ(error_of(header + "docker:\n  identifier: b\n"), "dockform.yml:3:1: duplicate key 'docker'");
}

TEST(ManifestErrors, FilesetProblems) {
  EXPECT_EQ(error_of(header + "filesets:\n  assets:\n    source: ./a\n"),
            "dockform.yml:4:3: missing required key filesets.assets.target_volume");
  EXPECT_EQ(error_of(header + "filesets:\n  assets:\n"),
            "dockform.yml:4:3: missing required key filesets.assets.target_volume");
  EXPECT_EQ(error_of(header + "filesets:\n  assets: {target_volume: Assets}\n"),
            "dockform.yml:4:27: 'Assets' is not a valid volume name: use lowercase letters a-z, "
            "digits, '_', '.' and '-' (but not '.' or '..' alone)");
  EXPECT_EQ(error_of(header + "filesets:\n  assets: {target_volume: v, source: [a]}\n"),
            "dockform.yml:4:38: filesets.assets.source: expected a string, got a sequence");
}

TEST(ManifestErrors, InterpolationProblemsNameTheValue) {
  EXPECT_EQ(error_of(header + "volumes:\n  data:\n    labels: {owner: \"${OWNER:?who owns it}\"}\n"),
            "dockform.yml:5:21: volumes.data.labels.owner: required variable OWNER is missing a "
            "value: who owns it");
  EXPECT_EQ(error_of("docker:\n  identifier: ${1A}\n"),
            "dockform.yml:2:15: docker.identifier: invalid reference '${1A}': expected a variable "
            "name (a letter or '_', then letters, digits, '_') (write $$ for a literal $)");
}

TEST(ManifestErrors, ControlCharactersAreEscaped) {
  EXPECT_EQ(error_of(header + "\"vol\\e[31m\": {}\n"),
            "dockform.yml:3:1: unknown top-level key 'vol\\x1b[31m' (expected one of: docker, volumes, "
            "networks, filesets, snapshots, notifications, applications, environment, secrets, sops)");
}

// ---- hostile input --------------------------------------------------------

// Runs `text` through the parser, which must refuse it as too large within a second.
std::string refused_quickly(const std::string& text) {
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of(text);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(message.ends_with(": " + too_large)) << message;
  return message;
}

std::string flow_nesting(int levels) {
  return header + "applications: " + std::string(static_cast<std::size_t>(levels), '[') + "x" +
         std::string(static_cast<std::size_t>(levels), ']') + "\n";
}

TEST(ManifestBombs, DepthLimitIsSixtyFourLevels) {
  // The root mapping is level 1, so 62 sequences put the scalar at level 64.
  EXPECT_NO_THROW(parse(flow_nesting(62)));
  EXPECT_EQ(refused_quickly(flow_nesting(63)), "dockform.yml:3:78: " + too_large);
  EXPECT_EQ(refused_quickly(flow_nesting(64)), "dockform.yml:3:78: " + too_large);
}

TEST(ManifestBombs, DeepNestingIsRefused) {
  // Deep enough to overflow the stack of a parser that recursed per level.
  refused_quickly(header + "applications: " + std::string(100'000, '['));
  refused_quickly(header + "applications: " + std::string(100'000, '{'));
  std::string block = header + "applications:\n";
  for (std::size_t level = 1; level < 200; ++level) block += std::string(level, ' ') + "k:\n";
  refused_quickly(block);
}

TEST(ManifestBombs, BillionLaughsIsRefused) {
  std::string text = header + "applications:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char level = 'b'; level <= 'j'; ++level) {
    const std::string previous(1, static_cast<char>(level - 1));
    text += std::string("  ") + level + ": &" + level + " [";
    for (int i = 0; i < 10; ++i) text += (i == 0 ? "*" : ", *") + previous;
    text += "]\n";
  }
  refused_quickly(text);
}

TEST(ManifestBombs, AliasInsideItsOwnAnchorIsRefused) {
  EXPECT_EQ(refused_quickly(header + "applications: &loop [*loop]\n"), "dockform.yml:3:22: " + too_large);
  refused_quickly(header + "applications: &loop {k: *loop}\n");
}

TEST(ManifestBombs, RepeatedLargeScalarIsRefused) {
  std::string text = header + "applications:\n  big: &big " + std::string(1 << 20, 'x') + "\n  copies: [";
  for (int i = 0; i < 10; ++i) text += "*big, ";
  text += "*big]\n";
  refused_quickly(text);
}

TEST(ManifestBombs, TooManyNodesIsRefused) {
  std::string text = header + "applications: [";
  for (int i = 0; i < 1'000'000; ++i) text += "0,";
  text += "0]\n";
  refused_quickly(text);
}

// ---- files and discovery --------------------------------------------------

// Restores the current folder when a test changed it.
class CurrentDirGuard {
 public:
  CurrentDirGuard() : saved_(fs::current_path()) {}
  ~CurrentDirGuard() { fs::current_path(saved_); }
  CurrentDirGuard(const CurrentDirGuard&) = delete;
  CurrentDirGuard& operator=(const CurrentDirGuard&) = delete;

 private:
  fs::path saved_;
};

std::string load_error(const fs::path& file) {
  SCOPED_TRACE("loading " + file.string());
  return test::message_of<ManifestError>([&] { load_manifest(file, env_of({})); });
}

std::string find_error(const std::string& flag) {
  SCOPED_TRACE("finding " + flag);
  return test::message_of<ManifestError>([&] { find_manifest(flag); });
}

TEST(LoadManifest, SetsAbsoluteFileAndDir) {
  const TempDir dir;
  dir.write("dockform.yml", header);
  const CurrentDirGuard guard;
  fs::current_path(dir.path());
  const Manifest m = load_manifest("./dockform.yml", env_of({}));
  EXPECT_TRUE(m.file.is_absolute());
  EXPECT_TRUE(fs::equivalent(m.file, dir.path() / "dockform.yml"));
  EXPECT_EQ(m.file.filename(), "dockform.yml");
  EXPECT_EQ(m.dir, m.file.parent_path());
  EXPECT_EQ(m.identifier, "app");
}

TEST(LoadManifest, ErrorsNameTheAbsoluteFile) {
  const TempDir dir;
  const fs::path file = dir.write("dockform.yml", header + "volume: {}\n");
  EXPECT_EQ(load_error(file), file.string() +
                                  ":3:1: unknown top-level key 'volume' (expected one of: docker, "
                                  "volumes, networks, filesets, snapshots, notifications, applications, environment, "
                                  "secrets, sops)");
}

TEST(LoadManifest, UnreadableFile) {
  const TempDir dir;
  EXPECT_EQ(load_error(dir.path() / "missing.yml"),
            (dir.path() / "missing.yml").string() + ": cannot read: No such file or directory");
  EXPECT_EQ(load_error(dir.path()), dir.path().string() + ": cannot read: Is a directory");
}

TEST(LoadManifest, RefusesFilesOverFourMiB) {
  const TempDir dir;
  const std::string comment = "# " + std::string(4 * 1024 * 1024, 'x') + "\n";
  const fs::path file = dir.write("dockform.yml", header + comment);
  EXPECT_EQ(load_error(file), file.string() + ": manifest is larger than 4 MiB");
}

// ---- snapshots: destination and keep -------------------------------------

TEST(Manifest, SnapshotsDestinationAndKeep) {
  const Manifest m = parse(header + R"(snapshots:
  destination: /srv/backups/${HOST}
  keep: {last: 7, daily: 14, weekly: 8, monthly: 12}
)",
                           {{"HOST", "web1"}});
  EXPECT_EQ(m.snapshots.destination, "/srv/backups/web1");
  ASSERT_TRUE(m.snapshots.keep.has_value());
  EXPECT_EQ(m.snapshots.keep->last, 7);
  EXPECT_EQ(m.snapshots.keep->daily, 14);
  EXPECT_EQ(m.snapshots.keep->weekly, 8);
  EXPECT_EQ(m.snapshots.keep->monthly, 12);

  // A rule left out is 0; no keep at all is no retention (prune then needs flags).
  const Manifest some = parse(header + "snapshots:\n  keep:\n    daily: 3\n");
  ASSERT_TRUE(some.snapshots.keep.has_value());
  EXPECT_EQ(some.snapshots.keep->last, 0);
  EXPECT_EQ(some.snapshots.keep->daily, 3);
  EXPECT_EQ(some.snapshots.destination, std::nullopt);
  const Manifest none = parse(header + "snapshots:\n  recipients_file: k.txt\n");
  EXPECT_FALSE(none.snapshots.keep.has_value());
  EXPECT_EQ(none.snapshots.destination, std::nullopt);
}

TEST(ManifestErrors, SnapshotsKeepIsChecked) {
  EXPECT_EQ(error_of(header + "snapshots:\n  keep:\n    last: -1\n"),
            "dockform.yml:5:11: snapshots.keep.last: expected a whole number from 0 to 100000, got '-1'");
  EXPECT_EQ(error_of(header + "snapshots:\n  keep:\n    daily: 1.5\n"),
            "dockform.yml:5:12: snapshots.keep.daily: expected a whole number from 0 to 100000, got '1.5'");
  EXPECT_EQ(error_of(header + "snapshots:\n  keep:\n    hourly: 3\n"),
            "dockform.yml:5:5: unknown key 'snapshots.keep.hourly' (expected one of: last, daily, weekly, monthly)");
  EXPECT_EQ(error_of(header + "snapshots:\n  keep: {}\n"),
            "dockform.yml:4:9: snapshots.keep: give at least one of last, daily, weekly, monthly");
  EXPECT_EQ(error_of(header + "snapshots:\n  destination: ''\n"),
            "dockform.yml:4:16: snapshots.destination: must not be empty");
  EXPECT_EQ(error_of(header + "snapshots:\n  keep: 7\n"),
            "dockform.yml:4:9: snapshots.keep: expected a mapping, got a scalar");
}

TEST(FindManifest, LooksForTheFourNamesInOrder) {
  const TempDir dir;
  for (const char* name : {"Dockform.yaml", "Dockform.yml", "dockform.yaml", "dockform.yml"}) {
    dir.write(name, header);
  }
  for (const char* name : {"dockform.yml", "dockform.yaml", "Dockform.yml", "Dockform.yaml"}) {
    EXPECT_EQ(find_manifest(dir.path().string()), dir.path() / name);
    fs::remove(dir.path() / name);
  }
  EXPECT_EQ(find_error(dir.path().string()),
            "no manifest found in " + dir.path().string() +
                " (looked for dockform.yml, dockform.yaml, Dockform.yml, Dockform.yaml)");
}

TEST(FindManifest, SkipsAFolderWithAManifestName) {
  const TempDir dir;
  fs::create_directory(dir.path() / "dockform.yml");
  dir.write("Dockform.yml", header);
  EXPECT_EQ(find_manifest(dir.path().string()), dir.path() / "Dockform.yml");
}

TEST(FindManifest, TrailingSlashIsDropped) {
  const TempDir dir;
  dir.write("dockform.yaml", header);
  EXPECT_EQ(find_manifest(dir.path().string() + "/"), dir.path() / "dockform.yaml");
}

TEST(FindManifest, AFileIsTakenAsIs) {
  const TempDir dir;
  const fs::path file = dir.write("custom.yaml", header);
  dir.write("dockform.yml", header);
  EXPECT_EQ(find_manifest(file.string()), file);
  EXPECT_EQ(find_error((dir.path() / "absent.yml").string()),
            (dir.path() / "absent.yml").string() + ": no such file or folder");
}

TEST(FindManifest, EmptyFlagMeansTheCurrentFolder) {
  const TempDir dir;
  dir.write("dockform.yml", header);
  fs::create_directory(dir.path() / "sub");
  dir.write("sub/Dockform.yaml", header);
  const CurrentDirGuard guard;
  fs::current_path(dir.path());

  const fs::path found = find_manifest("");
  EXPECT_TRUE(found.is_absolute());
  EXPECT_TRUE(fs::equivalent(found, dir.path() / "dockform.yml"));
  EXPECT_EQ(found.filename(), "dockform.yml");

  const fs::path in_sub = find_manifest("sub");
  EXPECT_TRUE(in_sub.is_absolute());
  EXPECT_TRUE(fs::equivalent(in_sub, dir.path() / "sub" / "Dockform.yaml"));

  const fs::path relative_file = find_manifest("./sub/../dockform.yml");
  EXPECT_EQ(relative_file, fs::current_path() / "dockform.yml");
}

}  // namespace
}  // namespace dockform::manifest
