#pragma once
// The age keys of a run, from the command line, the environment and the
// manifest: whom a snapshot is encrypted to, and what opens one. Read once at
// the command line's edge, before any work starts, so that a bad key or file
// fails the run while nothing has happened yet.
#include <string>
#include <vector>

#include "dockform/crypto/age.hpp"
#include "dockform/manifest/manifest.hpp"

namespace dockform::core {

struct RecipientFlags {
  std::vector<std::string> recipients;       // -r/--recipient
  std::vector<std::string> recipient_files;  // -R/--recipients-file
  std::string passphrase_file;               // --passphrase-file
};

struct Recipients {
  std::vector<crypto::age::Recipient> keys;  // empty: the snapshot is not encrypted
  std::string source;                        // where they came from, for the run's messages
};

// The first that gives any: the flags; DOCKFORM_RECIPIENTS (keys separated by
// spaces or commas), DOCKFORM_RECIPIENTS_FILE and DOCKFORM_PASSPHRASE_FILE;
// the manifest's snapshots.recipients and snapshots.recipients_file. Within
// one source, keys and files add up. A passphrase goes alone. Throws Error
// (Exit::usage) naming the bad key or file.
Recipients resolve_recipients(const RecipientFlags& flags, const manifest::Manifest* manifest,
                              const manifest::EnvLookup& env);

struct IdentityFlags {
  std::vector<std::string> identity_files;  // -i/--identity
  std::string passphrase_file;              // --passphrase-file
};

// The flags, else DOCKFORM_IDENTITY_FILE and DOCKFORM_PASSPHRASE_FILE. Warns
// when other users can read a key file. Throws Error (Exit::usage).
std::vector<crypto::age::Identity> resolve_identities(const IdentityFlags& flags, const manifest::EnvLookup& env);

// A passphrase file: its first line, without the line end; not empty.
std::string read_passphrase_file(const std::string& file);

// The items of a list-valued environment variable (DOCKFORM_RECIPIENTS,
// DOCKFORM_WEBHOOK_URLS): separated by spaces, commas, tabs or newlines.
std::vector<std::string> split_list(const std::string& text);

}  // namespace dockform::core
