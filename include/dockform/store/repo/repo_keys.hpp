#pragma once
// An encrypted repository's keys (docs/encryption.md, "Repositories").
//
// `repo init -r/-R/--passphrase-file` draws a random 32-byte repository key K.
// From K follow the frame ids (HMAC-SHA-256 under HKDF(K, "dockform frame
// id"): the storage cannot confirm a guessed frame) and a writer's X25519
// identity (HKDF(K, "dockform writer identity")). Sealed in the age format:
//   packs                 to the recipients (a passphrase repository: to an
//                         X25519 identity of its own, kept in keys/repository.age)
//   recipes, pack indexes to the recipients and to the writer's identity, so a
//                         host holding K finds stored frames and can prune
//   keys/repository.age   K, to the recipients or the passphrase
// A writer holds K in a key file and no identity: it stores frames it cannot
// read back. A host with an identity recovers K from keys/repository.age.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dockform/crypto/age.hpp"

namespace dockform::store {

class RepoFiles;

inline constexpr const char* kRepoKeyObject = "keys/repository.age";

// The identities this run was given (-i, --passphrase-file): they open
// encrypted repositories too. Set once by the command line, before any work.
void use_repository_identities(const std::vector<crypto::age::Identity>& identities);

// Where a host keeps repository `id`'s key: DOCKFORM_REPO_KEY_FILE when set,
// else $XDG_CONFIG_HOME (or ~/.config)/dockform/repository-keys/<id>.
std::string repository_key_file(const std::string& id);

class RepoKeys {
 public:
  // Reads the config's "encryption" object and finds K: from
  // keys/repository.age with the run's identities, else from the host's key
  // file. Without either the repository's sidecars still list; anything
  // sealed throws (usage) saying what to give.
  RepoKeys(RepoFiles& files, const std::string& repo_id, const nlohmann::json& encryption);
  ~RepoKeys();
  RepoKeys(const RepoKeys&) = delete;
  RepoKeys& operator=(const RepoKeys&) = delete;

  // Hex HMAC-SHA-256 of `bytes` under the frame-id key. Throws Error (usage)
  // when this host has no key (neither its key file nor an identity).
  std::string content_id(std::string_view bytes) const;
  // Packs to the recipients; recipes and indexes also to the writer.
  std::string seal(std::string_view plain, bool for_writers) const;
  const std::vector<crypto::age::Recipient>& pack_recipients() const { return recipients_; }
  // What opens sealed files here: the writer's identity, and the run's
  // identities (with a passphrase repository's own) when they opened K.
  const std::vector<crypto::age::Identity>& openers() const;
  // Whether packs open here (an identity opened K): a writer holding only K cannot.
  bool reads_packs() const { return reads_packs_; }
  // Writes K to a new key file (0600): `file`, or repository_key_file() when
  // empty. Returns the file written.
  std::string save(const std::string& file) const;
  // Throws Error (usage) naming `what`, when packs do not open here.
  void require_reader(const std::string& what) const;

 private:
  struct Key;
  const Key& key() const;
  bool open_with_identities(RepoFiles& files);
  bool open_key_file();
  void use(std::unique_ptr<Key> key);

  std::string repo_id_;
  std::string root_;
  std::string key_check_;
  std::vector<crypto::age::Recipient> recipients_;
  crypto::age::X25519Recipient writer_;
  std::unique_ptr<Key> key_;  // nullptr: this host has no key
  std::string missing_;       // why, when it has none
  bool reads_packs_ = false;
};

// The keys of the repository in `files` (as stored) when its config says it
// is encrypted, nullptr for a plain one; nullopt when there is no config (yet).
// Kept per root for the process's life: a passphrase's scrypt runs once.
std::optional<std::shared_ptr<const RepoKeys>> repository_keys(RepoFiles& files);

// Makes an encrypted repository's keys (repo init): writes keys/repository.age
// and the host's key file (`key_file`, else repository_key_file(id)), and
// returns the config's "encryption" object. Throws Error (usage) when the key
// file exists.
nlohmann::json make_repository_keys(RepoFiles& files, const std::string& repo_id,
                                    const std::vector<crypto::age::Recipient>& recipients, const std::string& key_file,
                                    std::string& key_file_written);

// `repo key`: K from keys/repository.age, opened with this run's identities,
// written to `key_file` (else repository_key_file(id)); returns the file's name.
std::string recover_repository_key(RepoFiles& files, const std::string& key_file);

}  // namespace dockform::store
