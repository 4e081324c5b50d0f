#include "dockform/core/keys.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "dockform/util/error.hpp"

namespace dockform::core {

namespace age = crypto::age;

namespace {
constexpr std::size_t kMaxKeyFile = 1 << 20;

std::string read_key_file(const std::string& file, const char* what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(std::string("cannot read ") + what + " " + file, Exit::usage);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxKeyFile)
    throw Error(std::string(what) + " " + file + " is larger than 1 MiB", Exit::usage);
  return text.str();
}

// A secret others can read is a secret shared: age's tools say nothing, ssh
// refuses; a warning keeps cron jobs running while saying what to fix.
void warn_if_readable_by_others(const std::string& file, const char* what) {
  struct stat info;
  if (::stat(file.c_str(), &info) != 0 || (info.st_mode & (S_IRWXG | S_IRWXO)) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
  spdlog::warn("{} {} can be read by other users (mode {}): run `chmod 600 {}`", what, file, mode, file);
}

// Errors of the age parsers, with the file they came from.
template <typename Parse>
auto parse_file(const std::string& file, const char* what, Parse parse) {
  auto text = read_key_file(file, what);
  struct Wipe {  // an identity file holds secret keys
    std::string& text;
    ~Wipe() { crypto::cleanse(text.data(), text.size()); }
  } wipe{text};
  try {
    return parse(text);
  } catch (const Error& e) {
    throw Error(std::string(what) + " " + file + ": " + e.what(), Exit::usage);
  }
}

Recipients from(const std::vector<std::string>& keys, const std::vector<std::string>& files,
                const std::string& passphrase_file, std::string source) {
  Recipients out;
  out.source = std::move(source);
  for (const auto& key : keys) out.keys.push_back(age::parse_recipient(key));
  for (const auto& file : files) {
    auto listed =
        parse_file(file, "recipients file", [](const std::string& text) { return age::parse_recipients_file(text); });
    out.keys.insert(out.keys.end(), listed.begin(), listed.end());
  }
  if (!passphrase_file.empty()) {
    if (!out.keys.empty()) {
      throw Error("a passphrase cannot be combined with recipients (" + out.source +
                      "): an age file encrypted with a passphrase has no other recipient",
                  Exit::usage);
    }
    warn_if_readable_by_others(passphrase_file, "passphrase file");
    out.keys.push_back(age::ScryptRecipient{read_passphrase_file(passphrase_file)});
  }
  return out;
}

std::string env_or_empty(const manifest::EnvLookup& env, const char* name) { return env(name).value_or(""); }
}  // namespace

std::string read_passphrase_file(const std::string& file) {
  auto text = read_key_file(file, "passphrase file");
  auto line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty())
    throw Error("passphrase file " + file + " is empty (its first line is the passphrase)", Exit::usage);
  crypto::cleanse(text.data(), text.size());
  return line;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (char c : text + " ") {
    if (c == ' ' || c == ',' || c == '\n' || c == '\t') {
      if (!item.empty()) items.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  return items;
}

Recipients resolve_recipients(const RecipientFlags& flags, const manifest::Manifest* manifest,
                              const manifest::EnvLookup& env) {
  if (!flags.recipients.empty() || !flags.recipient_files.empty() || !flags.passphrase_file.empty()) {
    return from(flags.recipients, flags.recipient_files, flags.passphrase_file, "the command line");
  }
  auto keys = split_list(env_or_empty(env, "DOCKFORM_RECIPIENTS"));
  auto file = env_or_empty(env, "DOCKFORM_RECIPIENTS_FILE");
  auto passphrase = env_or_empty(env, "DOCKFORM_PASSPHRASE_FILE");
  if (!keys.empty() || !file.empty() || !passphrase.empty()) {
    return from(keys, file.empty() ? std::vector<std::string>{} : std::vector<std::string>{file}, passphrase,
                "the environment");
  }
  if (manifest == nullptr) return {};
  const auto& settings = manifest->snapshots;
  std::vector<std::string> files;
  if (settings.recipients_file) files.push_back((manifest->dir / *settings.recipients_file).string());
  return from(settings.recipients, files, "", "the manifest's snapshots block");
}

std::vector<age::Identity> resolve_identities(const IdentityFlags& flags, const manifest::EnvLookup& env) {
  auto files = flags.identity_files;
  auto passphrase = flags.passphrase_file;
  if (files.empty() && passphrase.empty()) {
    if (auto file = env_or_empty(env, "DOCKFORM_IDENTITY_FILE"); !file.empty()) files.push_back(file);
    passphrase = env_or_empty(env, "DOCKFORM_PASSPHRASE_FILE");
  }
  std::vector<age::Identity> identities;
  for (const auto& file : files) {
    warn_if_readable_by_others(file, "identity file");
    auto keys =
        parse_file(file, "identity file", [](const std::string& text) { return age::parse_identity_file(text); });
    for (auto& key : keys) identities.emplace_back(std::move(key));
  }
  if (!passphrase.empty()) {
    warn_if_readable_by_others(passphrase, "passphrase file");
    identities.emplace_back(age::PassphraseIdentity{read_passphrase_file(passphrase)});
  }
  return identities;
}

}  // namespace dockform::core
