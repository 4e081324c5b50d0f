// Reading and validating the manifest (the schema README.md shows under "Usage": docker,
// volumes, networks, filesets; applications, environment, secrets and sops
// are accepted and not acted on). Every error names
// FILE:LINE:COL, so that a user can go straight to the problem.
#include "dockform/manifest/manifest.hpp"

#include "dockform/crypto/age.hpp"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <vector>

namespace dockform::manifest {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_file_bytes = 4 * 1024 * 1024;

// Limits on the document as a reader sees it, every alias expanded. yaml-cpp
// shares an aliased node instead of copying it, so a few lines can stand for a
// billion nodes (or, with an alias inside its own anchor, an endless cycle).
// A real manifest has a few hundred nodes; yaml-cpp spends about half a
// kilobyte of memory on each one, so the node cap also bounds memory. The
// scalar cap leaves room for any file without aliases.
constexpr std::size_t max_depth = 64;
constexpr std::size_t max_nodes = 100'000;
constexpr std::size_t max_scalar_bytes = 2 * max_file_bytes;
constexpr const char* too_large = "manifest too large or too deeply nested";

constexpr std::array<std::string_view, 10> top_level_keys{"docker",    "volumes",       "networks",     "filesets",
                                                          "snapshots", "notifications", "applications", "environment",
                                                          "secrets",   "sops"};
// Accepted with any content: they belong to dockform's apply, not to this tool.
constexpr std::array<std::string_view, 4> ignored_keys{"applications", "environment", "secrets", "sops"};

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& words) {
  std::string out;
  for (std::string_view word : words) {
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// Control characters become \xNN: a hostile manifest must not be able to
// write terminal escape sequences through an error message.
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

// User text inside a message, shortened.
std::string quote(const std::string& text) {
  constexpr std::size_t limit = 64;
  if (text.size() <= limit) return "'" + text + "'";
  return "'" + text.substr(0, limit) + "...'";
}

// Raises ManifestError as "FILE:LINE:COL: message"; yaml-cpp counts from 0.
class Reporter {
 public:
  explicit Reporter(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const {
    std::string where = file_;
    if (!mark.is_null()) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    throw ManifestError(printable(where + ": " + message));
  }

 private:
  std::string file_;
};

// Measures each document from the parser's events, before yaml-cpp builds a
// tree from it: nodes, nesting depth and scalar bytes, an alias counting as
// everything its anchor holds. Nothing is expanded, so this takes time and
// memory in proportion to the text, however large the expansion.
class SizeGuard : public YAML::EventHandler {
 public:
  explicit SizeGuard(const Reporter& reporter) : reporter_(reporter) {}

  int documents() const { return documents_; }
  const YAML::Mark& second_document() const { return second_document_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_document_ = mark;
    anchors_.clear();  // anchors are scoped to their document
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, 0); }
  void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                const std::string& value) override {
    leaf(mark, anchor, value.size());
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto found = anchors_.find(anchor);
    // Not finished yet: the alias sits inside its own anchor, a cycle.
    if (found == anchors_.end()) reporter_.fail(mark, too_large);
    add(mark, found->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Extent {
    std::size_t nodes = 1;
    std::size_t bytes = 0;
    std::size_t height = 1;  // levels from this node down to its deepest leaf
  };
  struct Collection {
    YAML::Mark mark;
    YAML::anchor_t anchor;
    Extent extent;
  };

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t bytes) {
    const Extent extent{1, bytes, 1};
    remember(anchor, extent);
    add(mark, extent);
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (open_.size() >= max_depth) reporter_.fail(mark, too_large);
    open_.push_back({mark, anchor, Extent{}});
  }

  void close() {
    const Collection done = open_.back();
    open_.pop_back();
    remember(done.anchor, done.extent);
    add(done.mark, done.extent);
  }

  void remember(YAML::anchor_t anchor, const Extent& extent) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = extent;
  }

  // Adds a finished node to the collection that holds it. Each operand is
  // within the limits, so the sums cannot overflow.
  void add(const YAML::Mark& mark, const Extent& child) {
    if (open_.empty()) return;  // the root: checked as it grew
    Extent& parent = open_.back().extent;
    parent.nodes += child.nodes;
    parent.bytes += child.bytes;
    parent.height = std::max(parent.height, child.height + 1);
    const std::size_t depth = open_.size() - 1 + parent.height;
    if (parent.nodes > max_nodes || parent.bytes > max_scalar_bytes || depth > max_depth) {
      reporter_.fail(mark, too_large);
    }
  }

  const Reporter& reporter_;
  std::vector<Collection> open_;  // collections being read, outermost first
  std::map<YAML::anchor_t, Extent> anchors_;
  int documents_ = 0;
  YAML::Mark second_document_;
};

// Parses the text, refusing bombs before yaml-cpp expands anything.
YAML::Node load_document(const std::string& text, const Reporter& reporter) {
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    SizeGuard guard(reporter);
    // Stop at a second document: on some input (a stray ',' at the top
    // level) yaml-cpp reports empty documents without end.
    while (guard.documents() < 2 && parser.HandleNextDocument(guard)) {
    }
    if (guard.documents() > 1) {
      reporter.fail(guard.second_document(), "a manifest holds one YAML document, found more");
    }
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    reporter.fail(e.mark, "invalid YAML: " + e.msg);
  }
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "null";
  }
}

bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_letter_or_digit(char c) { return is_lower_or_digit(c) || (c >= 'A' && c <= 'Z'); }
bool is_name_punctuation(char c) { return c == '_' || c == '.' || c == '-'; }

// ^[a-z0-9][a-z0-9_.-]*$ : it becomes a Docker label value.
bool valid_identifier(const std::string& text) {
  return !text.empty() && is_lower_or_digit(text.front()) &&
         std::all_of(text.begin(), text.end(), [](char c) { return is_lower_or_digit(c) || is_name_punctuation(c); });
}

// ^[a-z0-9_.-]+$ , less "." and "..": a volume name is also a folder name
// under the snapshot folder.
bool valid_volume_name(const std::string& text) {
  return !text.empty() && text != "." && text != ".." &&
         std::all_of(text.begin(), text.end(), [](char c) { return is_lower_or_digit(c) || is_name_punctuation(c); });
}

// ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$
bool valid_network_name(const std::string& text) {
  return !text.empty() && is_letter_or_digit(text.front()) &&
         std::all_of(text.begin(), text.end(), [](char c) { return is_letter_or_digit(c) || is_name_punctuation(c); });
}

// One key: value pair of a mapping, with its dotted path for messages.
struct Entry {
  std::string key;
  std::string path;
  YAML::Node key_node;
  YAML::Node value;

  // A null value has no text of its own (yaml-cpp marks the token after it),
  // so problems with it are shown at its key.
  YAML::Mark value_mark() const { return value.IsNull() ? key_node.Mark() : value.Mark(); }
};

// Turns the YAML tree into a Manifest, checking it against the schema.
// Only values this tool acts on are interpolated; the ignored sections stay
// as written.
class Reader {
 public:
  Reader(const Reporter& reporter, const EnvLookup& env) : reporter_(reporter), env_(env) {}

  Manifest read(const YAML::Node& root) const {
    if (!root.IsMap()) {
      reporter_.fail(root.Mark(), "the manifest must be a mapping, got " + describe(root));
    }
    std::map<std::string, Entry> sections;
    for (Entry& entry : entries(root, "")) {
      if (!contains(top_level_keys, entry.key)) {
        reporter_.fail(entry.key_node.Mark(), "unknown top-level key " + quote(entry.key) +
                                                  " (expected one of: " + join(top_level_keys) + ")");
      }
      if (!contains(ignored_keys, entry.key)) sections.emplace(entry.key, std::move(entry));
    }

    Manifest manifest;
    read_docker(sections, manifest);
    if (sections.count("volumes") != 0) read_volumes(sections.at("volumes"), manifest);
    if (sections.count("networks") != 0) read_networks(sections.at("networks"), manifest);
    // After the volumes, so that a declared volume keeps its settings.
    if (sections.count("filesets") != 0) read_filesets(sections.at("filesets"), manifest);
    if (sections.count("snapshots") != 0) read_snapshots(sections.at("snapshots"), manifest);
    if (sections.count("notifications") != 0) read_notifications(sections.at("notifications"), manifest);
    return manifest;
  }

 private:
  // The pairs of a mapping; keys must be distinct scalars. yaml-cpp keeps a
  // repeated key twice, and silently using one of them would hide a mistake.
  // `path` names the mapping itself, empty for the top level.
  std::vector<Entry> entries(const YAML::Node& map, const std::string& path) const {
    std::vector<Entry> out;
    std::set<std::string> seen;
    for (const auto& pair : map) {
      const YAML::Node& key = pair.first;
      if (!key.IsScalar()) {
        reporter_.fail(key.Mark(),
                       (path.empty() ? "top level" : path) + ": keys must be scalars, got " + describe(key));
      }
      const std::string key_path = path.empty() ? key.Scalar() : path + "." + key.Scalar();
      if (!seen.insert(key.Scalar()).second) {
        reporter_.fail(key.Mark(), "duplicate key " + quote(key_path));
      }
      out.push_back({key.Scalar(), key_path, key, pair.second});
    }
    return out;
  }

  // A mapping that may be left empty: "name:" or "name: {}".
  std::vector<Entry> mapping(const Entry& entry) const {
    if (entry.value.IsNull()) return {};
    if (!entry.value.IsMap()) {
      reporter_.fail(entry.value.Mark(), entry.path + ": expected a mapping, got " + describe(entry.value));
    }
    return entries(entry.value, entry.path);
  }

  // A scalar value, interpolated. Numbers and booleans count as their text.
  std::string text(const Entry& entry) const {
    if (!entry.value.IsScalar()) {
      reporter_.fail(entry.value_mark(), entry.path + ": expected a string, got " + describe(entry.value));
    }
    try {
      return interpolate(entry.value.Scalar(), env_);
    } catch (const std::invalid_argument& e) {
      reporter_.fail(entry.value.Mark(), entry.path + ": " + e.what());
    }
  }

  // An optional string setting: null leaves the default, empty is a mistake.
  std::optional<std::string> setting(const Entry& entry) const {
    if (entry.value.IsNull()) return std::nullopt;
    std::string value = text(entry);
    if (value.empty()) reporter_.fail(entry.value.Mark(), entry.path + ": must not be empty");
    return value;
  }

  StringMap string_map(const Entry& entry) const {
    StringMap out;
    for (const Entry& item : mapping(entry)) out.emplace(item.key, text(item));
    return out;
  }

  std::vector<std::string> string_list(const Entry& entry) const {
    if (entry.value.IsNull()) return {};
    if (!entry.value.IsSequence()) {
      reporter_.fail(entry.value_mark(), entry.path + ": expected a list of strings, got " + describe(entry.value));
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < entry.value.size(); ++i) {
      Entry item{entry.key, entry.path + "[" + std::to_string(i) + "]", entry.key_node, entry.value[i]};
      auto value = setting(item);
      if (!value) reporter_.fail(item.value_mark(), item.path + ": must not be empty");
      out.push_back(*value);
    }
    return out;
  }

  [[noreturn]] void unknown_key(const Entry& entry, const std::string& expected) const {
    reporter_.fail(entry.key_node.Mark(), "unknown key " + quote(entry.path) + " (expected one of: " + expected + ")");
  }

  void read_docker(const std::map<std::string, Entry>& sections, Manifest& manifest) const {
    const auto docker = sections.find("docker");
    if (docker == sections.end()) {
      // No docker section to point at: name the start of the file.
      reporter_.fail(YAML::Mark(), "missing required key docker.identifier");
    }
    bool has_identifier = false;
    for (const Entry& entry : mapping(docker->second)) {
      if (entry.key == "identifier") {
        manifest.identifier = identifier(entry);
        has_identifier = true;
      } else if (entry.key == "context") {
        if (auto context = setting(entry)) {
          manifest.context = *context;
          manifest.context_given = true;
        }
      } else if (entry.key == "helper_image") {
        manifest.helper_image = setting(entry);
      } else {
        unknown_key(entry, "context, identifier, helper_image");
      }
    }
    if (!has_identifier) {
      reporter_.fail(docker->second.key_node.Mark(), "missing required key docker.identifier");
    }
  }

  std::string identifier(const Entry& entry) const {
    std::string value = text(entry);
    if (!valid_identifier(value)) {
      reporter_.fail(entry.value_mark(),
                     entry.path + ": " + quote(value) +
                         " is not a valid identifier: use lowercase letters a-z, digits, '_', '.' "
                         "and '-', starting with a letter or digit (it becomes a Docker label value)");
    }
    return value;
  }

  void read_volumes(const Entry& section, Manifest& manifest) const {
    for (const Entry& entry : mapping(section)) {
      check_volume_name(entry.key, entry.key_node.Mark());
      manifest.volumes[entry.key] = volume(entry);
    }
  }

  void check_volume_name(const std::string& name, const YAML::Mark& mark) const {
    if (!valid_volume_name(name)) {
      reporter_.fail(mark, quote(name) +
                               " is not a valid volume name: use lowercase letters a-z, digits, "
                               "'_', '.' and '-' (but not '.' or '..' alone)");
    }
  }

  Volume volume(const Entry& declaration) const {
    Volume result;
    result.name = declaration.key;
    for (const Entry& entry : mapping(declaration)) {
      if (entry.key == "driver") {
        result.driver = setting(entry).value_or(result.driver);
      } else if (entry.key == "driver_opts") {
        result.driver_opts = string_map(entry);
      } else if (entry.key == "labels") {
        result.labels = string_map(entry);
      } else if (entry.key == "exclude") {
        result.exclude = string_list(entry);
      } else {
        unknown_key(entry, "driver, driver_opts, labels, exclude");
      }
    }
    return result;
  }

  void read_snapshots(const Entry& section, Manifest& manifest) const {
    for (const Entry& entry : mapping(section)) {
      if (entry.key == "recipients") {
        manifest.snapshots.recipients = string_list(entry);
        for (std::size_t i = 0; i < manifest.snapshots.recipients.size(); ++i) {
          try {
            crypto::age::parse_recipient(manifest.snapshots.recipients[i]);
          } catch (const Error& e) {
            reporter_.fail(entry.value[i].Mark(), entry.path + "[" + std::to_string(i) + "]: " + e.what());
          }
        }
      } else if (entry.key == "recipients_file") {
        if (auto file = setting(entry)) manifest.snapshots.recipients_file = *file;
      } else if (entry.key == "destination") {
        manifest.snapshots.destination = setting(entry);
      } else if (entry.key == "keep") {
        manifest.snapshots.keep = keep(entry);
      } else if (entry.key == "full_read_every") {
        manifest.snapshots.full_read_every = count(entry);
      } else if (entry.key.find("identit") != std::string::npos || entry.key.find("passphrase") != std::string::npos ||
                 entry.key.find("secret") != std::string::npos) {
        reporter_.fail(entry.key_node.Mark(), entry.path +
                                                  ": secrets do not belong in the manifest; give them at restore "
                                                  "time (--identity, --passphrase-file or their environment "
                                                  "variables, see docs/encryption.md)");
      } else {
        unknown_key(entry, "recipients, recipients_file, destination, keep, full_read_every");
      }
    }
  }

  KeepSettings keep(const Entry& section) const {
    KeepSettings out;
    auto rules = mapping(section);
    if (rules.empty())
      reporter_.fail(section.value_mark(), section.path + ": give at least one of last, daily, weekly, monthly");
    for (const Entry& entry : rules) {
      if (entry.key == "last") {
        out.last = count(entry);
      } else if (entry.key == "daily") {
        out.daily = count(entry);
      } else if (entry.key == "weekly") {
        out.weekly = count(entry);
      } else if (entry.key == "monthly") {
        out.monthly = count(entry);
      } else {
        unknown_key(entry, "last, daily, weekly, monthly");
      }
    }
    return out;
  }

  // A whole number from 0 to 100000.
  int count(const Entry& entry) const {
    std::string value = setting(entry).value_or("");
    int out = -1;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (value.empty() || error != std::errc() || end != value.data() + value.size() || out < 0 || out > 100000) {
      reporter_.fail(entry.value_mark(),
                     entry.path + ": expected a whole number from 0 to 100000, got " + quote(value));
    }
    return out;
  }

  void read_notifications(const Entry& section, Manifest& manifest) const {
    auto& settings = manifest.notifications;
    for (const Entry& entry : mapping(section)) {
      if (entry.key == "ping") {
        settings.ping = setting(entry);
      } else if (entry.key == "webhooks") {
        settings.webhooks = string_list(entry);
      } else if (entry.key == "webhook_on") {
        settings.webhook_on = setting(entry);
        if (settings.webhook_on && *settings.webhook_on != "failure" && *settings.webhook_on != "always") {
          reporter_.fail(entry.value.Mark(), entry.path + ": expected failure or always");
        }
      } else if (entry.key == "metrics_file") {
        settings.metrics_file = setting(entry);
      } else if (entry.key == "metrics_push") {
        settings.metrics_push = setting(entry);
      } else {
        unknown_key(entry, "ping, webhooks, webhook_on, metrics_file, metrics_push");
      }
    }
  }

  void read_networks(const Entry& section, Manifest& manifest) const {
    for (const Entry& entry : mapping(section)) {
      if (!valid_network_name(entry.key)) {
        reporter_.fail(entry.key_node.Mark(),
                       quote(entry.key) +
                           " is not a valid network name: use letters, digits, '_', '.' and '-', "
                           "starting with a letter or digit");
      }
      manifest.networks[entry.key] = network(entry);
    }
  }

  Network network(const Entry& declaration) const {
    Network result;
    result.name = declaration.key;
    for (const Entry& entry : mapping(declaration)) {
      if (entry.key == "driver") {
        result.driver = setting(entry).value_or(result.driver);
      } else if (entry.key == "options") {
        result.options = string_map(entry);
      } else {
        unknown_key(entry, "driver, options");
      }
    }
    return result;
  }

  void read_filesets(const Entry& section, Manifest& manifest) const {
    for (const Entry& entry : mapping(section)) {
      const std::string name = target_volume(entry);
      Volume declared;
      declared.name = name;
      manifest.volumes.try_emplace(name, declared);
    }
  }

  // Checks a fileset and returns its target volume. Other keys
  // (restart_services, exclude, apply_mode, ...) drive dockform's apply,
  // which this tool does not do.
  std::string target_volume(const Entry& fileset) const {
    std::optional<std::string> target;
    for (const Entry& entry : mapping(fileset)) {
      if (entry.key == "target_volume") {
        target = text(entry);
        check_volume_name(*target, entry.value_mark());
      } else if (entry.key == "source" || entry.key == "target_path") {
        setting(entry);  // checked only: this tool does not copy filesets
      }
    }
    if (!target) {
      reporter_.fail(fileset.key_node.Mark(), "missing required key " + fileset.path + ".target_volume");
    }
    return *target;
  }

  const Reporter& reporter_;
  const EnvLookup& env_;
};

// Reads at most max_file_bytes: a manifest is small, and anything larger is
// refused before it costs memory.
std::string read_file(const fs::path& file) {
  struct Closer {
    void operator()(std::FILE* stream) const { std::fclose(stream); }
  };
  const std::unique_ptr<std::FILE, Closer> stream(std::fopen(file.c_str(), "rb"));
  const auto cannot_read = [&file] {
    return ManifestError(file.string() + ": cannot read: " + std::generic_category().message(errno));
  };
  if (!stream) throw cannot_read();
  std::string text;
  std::array<char, 65536> buffer{};
  while (const std::size_t count = std::fread(buffer.data(), 1, buffer.size(), stream.get())) {
    text.append(buffer.data(), count);
    if (text.size() > max_file_bytes) {
      throw ManifestError(file.string() + ": manifest is larger than 4 MiB");
    }
  }
  if (std::ferror(stream.get()) != 0) throw cannot_read();
  return text;
}

}  // namespace

namespace {
// Length of the UTF-8 sequence starting at text[i], or 0 when it is invalid
// (bad lead byte, bad continuation, overlong form, surrogate, past U+10FFFF).
std::size_t utf8_length(const std::string& text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  unsigned char second = byte(i + 1);
  if ((lead == 0xe0 && second < 0xa0) || (lead == 0xed && second > 0x9f) || (lead == 0xf0 && second < 0x90) ||
      (lead == 0xf4 && second > 0x8f)) {
    return 0;
  }
  return length;
}

// YAML is UTF-8 or UTF-16/32 with a byte order mark; yaml-cpp passes invalid
// UTF-8 through, which would end up in labels and messages.
void check_utf8(const std::string& text, const Reporter& reporter) {
  if (text.size() >= 2 && (text.compare(0, 2, "\xff\xfe") == 0 || text.compare(0, 2, "\xfe\xff") == 0)) return;
  if (text.size() >= 4 && text.compare(0, 4, std::string("\0\0\xfe\xff", 4)) == 0) return;
  YAML::Mark mark;
  mark.pos = 0;
  mark.line = 0;
  mark.column = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length = utf8_length(text, i);
    if (length == 0) reporter.fail(mark, "invalid UTF-8: a manifest must be UTF-8 (or UTF-16 with a byte order mark)");
    if (text[i] == '\n') {
      ++mark.line;
      mark.column = 0;
    } else {
      ++mark.column;
    }
    i += length;
    mark.pos = static_cast<int>(i);
  }
}
}  // namespace

Manifest parse_manifest(const std::string& text, const fs::path& file, const EnvLookup& env) {
  const Reporter reporter(file.string());
  check_utf8(text, reporter);
  const YAML::Node root = load_document(text, reporter);
  if (root.IsNull()) reporter.fail(YAML::Mark(), "manifest is empty");
  Manifest manifest = Reader(reporter, env).read(root);
  manifest.file = file;
  manifest.dir = file.parent_path();
  return manifest;
}

Manifest load_manifest(const fs::path& file, const EnvLookup& env) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(file, ec).lexically_normal();
  if (ec) throw ManifestError(file.string() + ": cannot read: " + ec.message());
  return parse_manifest(read_file(absolute), absolute, env);
}

}  // namespace dockform::manifest
