// An encrypted repository's keys: the repository key K, what follows from it,
// and where a host keeps it (repo_keys.hpp).
#include "dockform/store/repo/repo_keys.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dockform/crypto/primitives.hpp"
#include "dockform/store/repo/repo_files.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/atomic_file.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::store {

namespace age = crypto::age;

namespace {
constexpr std::string_view kKeyLinePrefix = "DOCKFORM-REPOSITORY-KEY-";

std::vector<age::Identity>& run_identities() {
  static std::vector<age::Identity> identities;
  return identities;
}

crypto::Secret<32> derive(const crypto::Secret<32>& key, std::string_view info) {
  crypto::Secret<32> out;
  crypto::hkdf_sha256(key.data(), key.size(), nullptr, 0, info, out.data());
  return out;
}

std::string key_check_of(const crypto::Secret<32>& key) {
  constexpr std::string_view text = "dockform repository key check";
  auto mac = crypto::hmac_sha256(key.data(), text.data(), text.size());
  return util::hex(mac.data(), mac.size());
}

age::X25519Identity writer_identity(const crypto::Secret<32>& key) {
  return age::X25519Identity{derive(key, "dockform writer identity")};
}

// 64 hex digits into `out`; false otherwise.
bool parse_hex_key(std::string_view text, crypto::Secret<32>& out) {
  if (text.size() != 64 || text.find_first_not_of("0123456789abcdef") != std::string_view::npos) return false;
  auto nibble = [](char c) { return static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i < 32; ++i) {
    out.data()[i] = static_cast<unsigned char>(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
  }
  return true;
}

std::string hex_key(const crypto::Secret<32>& key) { return util::hex(key.data(), key.size()); }

void write_key_file(const std::string& file, const std::string& root, const crypto::Secret<32>& key) {
  std::filesystem::path path = std::filesystem::absolute(file);
  try {
    util::create_private_dirs(path.parent_path());
  } catch (const Error& e) {
    throw Error(std::string("cannot make the key file's folder: ") + e.what(), Exit::usage);
  }
  std::string text = "# dockform repository key of " + root +
                     "\n# It lets this host write snapshots into the repository, not read them: keep it like a "
                     "password.\n" +
                     std::string(kKeyLinePrefix) + hex_key(key) + "\n";
  bool written = util::write_new_file(path.parent_path(), path.filename().string(), text);
  crypto::cleanse(text.data(), text.size());
  if (!written) throw Error("key file " + file + " exists: give another with --key-file", Exit::usage);
}
}  // namespace

struct RepoKeys::Key {
  crypto::Secret<32> key;
  crypto::Secret<32> id_key;
  std::vector<age::Identity> openers;
};

namespace {
std::mutex known_mutex;
// Per root; nullptr: a plain repository.
std::map<std::string, std::shared_ptr<const RepoKeys>>& known_keys() {
  static std::map<std::string, std::shared_ptr<const RepoKeys>> known;
  return known;
}
}  // namespace

void use_repository_identities(const std::vector<age::Identity>& identities) {
  std::lock_guard lock(known_mutex);
  run_identities() = identities;
  known_keys().clear();  // what opens a repository depends on them
}

std::string repository_key_file(const std::string& id) {
  if (const char* file = std::getenv("DOCKFORM_REPO_KEY_FILE"); file && *file) return file;
  std::string base;
  if (const char* config = std::getenv("XDG_CONFIG_HOME"); config && *config) {
    base = config;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    base = std::string(home) + "/.config";
  } else {
    throw Error("no place for repository keys: set HOME, XDG_CONFIG_HOME or DOCKFORM_REPO_KEY_FILE", Exit::usage);
  }
  return base + "/dockform/repository-keys/" + id;
}

RepoKeys::RepoKeys(RepoFiles& files, const std::string& repo_id, const nlohmann::json& encryption)
    : repo_id_(repo_id), root_(files.root().text()) {
  try {
    key_check_ = encryption.at("key_check").get<std::string>();
    for (const auto& text : encryption.at("recipients"))
      recipients_.push_back(age::parse_recipient(text.get<std::string>()));
    writer_ = std::get<age::X25519Recipient>(age::parse_recipient(encryption.at("writer").get<std::string>()));
  } catch (const std::exception& e) {
    throw Error("repository config " + files.show("config") + ": bad encryption: " + e.what(), Exit::refused);
  }
  if (!open_with_identities(files) && !open_key_file()) key_.reset();
}

RepoKeys::~RepoKeys() = default;

// K from keys/repository.age, when the run's identities open it.
bool RepoKeys::open_with_identities(RepoFiles& files) {
  if (run_identities().empty()) return false;
  auto sealed = files.read(kRepoKeyObject);
  if (!sealed) throw Error("the encrypted repository " + root_ + " lacks " + kRepoKeyObject, Exit::refused);
  std::string plain;
  try {
    plain = age::decrypt_all(*sealed, run_identities());
  } catch (const age::AgeError& e) {
    if (e.kind() != age::ErrorKind::no_match) throw Error(files.show(kRepoKeyObject) + ": " + e.what(), Exit::refused);
    missing_ = "the identity given does not open " + files.show(kRepoKeyObject);
    return false;
  }
  auto key = std::make_unique<Key>();
  try {
    auto in = nlohmann::json::parse(plain);
    crypto::cleanse(plain.data(), plain.size());
    if (!parse_hex_key(in.at("key").get<std::string>(), key->key)) throw Error("not a key");
    if (in.contains("identity")) key->openers.push_back(age::parse_identity(in.at("identity").get<std::string>()));
  } catch (const std::exception& e) {
    throw Error(files.show(kRepoKeyObject) + " is damaged: " + e.what(), Exit::refused);
  }
  if (key_check_of(key->key) != key_check_) {
    throw Error(files.show(kRepoKeyObject) + " holds a key that is not this repository's", Exit::refused);
  }
  for (const auto& identity : run_identities()) key->openers.push_back(identity);
  reads_packs_ = true;
  use(std::move(key));
  return true;
}

// K from the host's key file: a writer's.
bool RepoKeys::open_key_file() {
  const std::string file = repository_key_file(repo_id_);
  std::ifstream in(file);
  if (!in) {
    if (missing_.empty()) missing_ = "this host has no key for it (" + file + ")";
    return false;
  }
  auto key = std::make_unique<Key>();
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.starts_with(kKeyLinePrefix)) found = parse_hex_key(line.substr(kKeyLinePrefix.size()), key->key);
    crypto::cleanse(line.data(), line.size());
  }
  if (!found) throw Error("key file " + file + " holds no repository key", Exit::usage);
  if (key_check_of(key->key) != key_check_) {
    throw Error("key file " + file + " is not the key of repository " + root_, Exit::usage);
  }
  use(std::move(key));
  return true;
}

// What follows from K: the writer's identity (recipes, indexes) and the frame-id key.
void RepoKeys::use(std::unique_ptr<Key> key) {
  key->openers.push_back(writer_identity(key->key));
  key->id_key = derive(key->key, "dockform frame id");
  key_ = std::move(key);
}

const RepoKeys::Key& RepoKeys::key() const {
  if (!key_) {
    throw KeyMissing("repository " + root_ + " is encrypted and " + missing_ +
                     ": give its identity with --identity FILE (or --passphrase-file FILE), or its key file "
                     "(`dockform repo key` writes one; DOCKFORM_REPO_KEY_FILE names it)");
  }
  return *key_;
}

std::string RepoKeys::content_id(std::string_view bytes) const {
  auto mac = crypto::hmac_sha256(key().id_key.data(), bytes.data(), bytes.size());
  return util::hex(mac.data(), mac.size());
}

std::string RepoKeys::seal(std::string_view plain, bool for_writers) const {
  auto recipients = recipients_;
  if (for_writers) recipients.emplace_back(writer_);
  return age::encrypt_all(plain, recipients);
}

std::string RepoKeys::save(const std::string& file) const {
  std::string written = file.empty() ? repository_key_file(repo_id_) : file;
  write_key_file(written, root_, key().key);
  return written;
}

const std::vector<age::Identity>& RepoKeys::openers() const { return key().openers; }

void RepoKeys::require_reader(const std::string& what) const {
  if (reads_packs_) return;
  key();  // no key at all: says so
  throw KeyMissing(what +
                   " is sealed to the repository's recipients: give an identity with --identity FILE (or "
                   "--passphrase-file FILE); a writer's key file stores frames but does not read them");
}

std::optional<std::shared_ptr<const RepoKeys>> repository_keys(RepoFiles& files) {
  std::lock_guard lock(known_mutex);
  auto& known = known_keys();
  const std::string root = files.root().text();
  if (auto found = known.find(root); found != known.end()) return found->second;
  auto text = files.read("config");
  if (!text) return std::nullopt;  // no repository (yet): asked again later
  std::shared_ptr<const RepoKeys> keys;
  try {
    auto config = nlohmann::json::parse(*text);
    if (config.contains("encryption")) {
      keys = std::make_shared<RepoKeys>(files, config.at("id").get<std::string>(), config.at("encryption"));
    }
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not a repository's config: the caller says so
  }
  known.emplace(root, keys);
  return keys;
}

nlohmann::json make_repository_keys(RepoFiles& files, const std::string& repo_id,
                                    const std::vector<age::Recipient>& recipients, const std::string& key_file,
                                    std::string& key_file_written) {
  crypto::Secret<32> key;
  crypto::random_bytes(key.data(), key.size());
  nlohmann::json sealed{{"key", hex_key(key)}};
  // A passphrase cannot seal every pack (scrypt per object, and writers would
  // need it): packs go to an identity of the repository's own, kept sealed
  // with K under the passphrase.
  std::vector<age::Recipient> pack_recipients;
  bool passphrase = std::holds_alternative<age::ScryptRecipient>(recipients.front());
  if (passphrase) {
    auto own = age::generate_x25519_identity();
    std::string text = age::encode_identity(own);
    sealed["identity"] = text;
    crypto::cleanse(text.data(), text.size());
    pack_recipients.emplace_back(age::x25519_recipient_of(own));
  } else {
    pack_recipients = recipients;
  }
  std::string plain = sealed.dump();
  std::string key_object = age::encrypt_all(plain, recipients);
  crypto::cleanse(plain.data(), plain.size());

  key_file_written = key_file.empty() ? repository_key_file(repo_id) : key_file;
  write_key_file(key_file_written, files.root().text(), key);
  files.prepare({"keys"});
  if (!files.write_new(kRepoKeyObject, key_object)) {
    throw Error(files.root().text() + " became a repository while this made it", Exit::usage);
  }
  auto list = nlohmann::json::array();
  for (const auto& recipient : pack_recipients) {
    list.push_back(age::encode_recipient(std::get<age::X25519Recipient>(recipient)));
  }
  return {{"scheme", "age"},
          {"frame_id", "hmac-sha256"},
          {"recipients", list},
          {"writer", age::encode_recipient(age::x25519_recipient_of(writer_identity(key)))},
          {"key_check", key_check_of(key)}};
}

std::string recover_repository_key(RepoFiles& files, const std::string& key_file) {
  auto found = repository_keys(files);
  if (!found || !*found) throw Error(files.root().text() + " is not an encrypted repository", Exit::usage);
  const auto& keys = *found;
  keys->require_reader("the repository key");
  return keys->save(key_file);
}

}  // namespace dockform::store
