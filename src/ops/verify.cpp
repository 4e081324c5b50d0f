#include "dockform/ops/verify.hpp"

#include <spdlog/spdlog.h>

#include "dockform/archive/checked_walk.hpp"
#include "dockform/archive/seekable.hpp"
#include "dockform/archive/snapshot_file.hpp"
#include "dockform/ops/browse.hpp"
#include "dockform/store/repo/repository.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/progress.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::ops {

using archive::OnUnsafe;
using archive::Sidecar;
using archive::SnapshotFormat;
using archive::SnapshotReader;
using archive::checked_walk;
using archive::detect_format;
using archive::find_sidecar;
using archive::parse_sidecar;

namespace {
// The last part of a path or URL, for the progress line.
std::string file_name(const std::string& snapshot) { return snapshot.substr(snapshot.rfind('/') + 1); }

// Walks the whole archive, collecting problems instead of stopping at the
// first unsafe member; a damaged stream ends the walk (and returns true).
bool walk(SnapshotReader& reader, VerifyReport& report, archive::WalkSummary& summary,
          std::vector<archive::Member>& members) {
  std::optional<std::string> damage;
  auto on_member = [&members](const archive::TarEntry& entry, std::uint64_t header, std::uint64_t data) {
    members.push_back(archive::member_of(entry, header, data));
  };
  try {
    checked_walk([&reader] { return reader.next_block(); }, OnUnsafe::collect, summary, {}, on_member);
  } catch (const store::StorageError&) {
    throw;  // the storage failed, not the snapshot
  } catch (const store::KeyMissing&) {
    throw;  // nor a key missing (an encrypted repository's frames without the identity)
  } catch (const Error& e) {
    damage = e.what();
    // Hash the rest as it is, so the checksum still covers the whole file.
    try {
      reader.checksum_of_whole_file();
    } catch (const Error& again) {
      // The first error is already reported as the damage; this one adds nothing.
      spdlog::debug("verify: hashing the rest after the damage failed too: {}", again.what());
    }
  }
  for (const auto& reason : summary.unsafe) report.problems.push_back("unsafe member: " + reason);
  if (damage) {
    report.problems.push_back(*damage);
  } else if (summary.truncated) {
    report.problems.push_back("truncated: the tar end-of-archive marker is missing");
  }
  return damage.has_value();
}

// The encrypted file's bytes against the sidecar's checksum.tar_zst_age. A
// difference is a problem without the key (nothing else can be checked) and a
// warning with it (the content matched: the file was encrypted again since).
void compare_stored(const std::optional<Sidecar>& sidecar, VerifyReport& report) {
  if (!sidecar) return;
  if (!sidecar->encryption) {
    report.warnings.push_back(
        "the sidecar records no checksum of the encrypted file (it was encrypted after the snapshot): "
        "only the content's checksum can be compared");
    return;
  }
  const auto& expected = sidecar->encryption->stored_sha256;
  if (expected == report.stored_checksum) return;
  std::string text = "checksum mismatch: sidecar says " + expected +
                     " for the encrypted file (checksum.tar_zst_age), "
                     "the file has " +
                     report.stored_checksum;
  if (report.content_checked) {
    report.warnings.push_back(text + "; its content matches the sidecar, so it was encrypted again since");
  } else {
    report.problems.push_back(text + " (if it was encrypted again since, verify it with its key)");
  }
}

// Without a key: the age header's syntax and the stored bytes' checksum.
void verify_without_key(archive::ByteSource& source, const std::optional<Sidecar>& sidecar, VerifyReport& report) {
  try {
    archive::check_age_header(source, {});
  } catch (const Error& e) {
    report.problems.push_back(e.what());
  }
  util::Progress progress("verify " + file_name(report.snapshot), source.size());
  util::Sha256 sha;
  std::vector<char> buffer(1 << 20);
  while (std::size_t n = source.read(buffer.data(), buffer.size())) {
    sha.update(buffer.data(), n);
    report.bytes_read += n;
    progress.update(report.bytes_read);
  }
  progress.finish();
  report.stored_checksum = sha.hex_digest();
  report.warnings.push_back(
      "the snapshot is encrypted: only its stored bytes and its age header were checked; give --identity or "
      "--passphrase-file to check its content");
  compare_stored(sidecar, report);
}

// The sidecar beside the file, if any; a malformed one is a problem.
std::optional<Sidecar> read_sidecar_of(archive::ByteSource& source, VerifyReport& report) {
  auto found = find_sidecar(source);
  if (!found) {
    report.warnings.push_back("no sidecar: the checksum cannot be compared");
    return std::nullopt;
  }
  report.sidecar_file = found->location;
  try {
    return parse_sidecar(found->text, found->location);
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return std::nullopt;
  }
}

// Everything: the walk through the decrypted, decompressed stream, the checksums and the counts.
void verify_content(archive::ByteSource& source, SnapshotFormat format,
                    const std::vector<crypto::age::Identity>& identities, const std::optional<Sidecar>& sidecar,
                    VerifyReport& report, std::vector<archive::Member>& members) {
  util::Progress progress("verify " + file_name(report.snapshot), source.size());
  auto reader =
      archive::open_reader(source, format, identities, [&progress](std::uint64_t read) { progress.update(read); });
  archive::WalkSummary summary;
  bool damaged = walk(*reader, report, summary, members);
  progress.finish();
  // A damaged encrypted file: what was decrypted is only a part, so its
  // checksum says nothing; the stored bytes' checksum names the damage.
  report.content_checked = !(report.encrypted && damaged);
  report.members = summary.members;
  report.file_count = summary.file_count;
  report.checksum = reader->checksum();
  report.stored_checksum = reader->stored_checksum();
  report.bytes_read = reader->bytes_read();
  report.uncompressed_bytes = reader->tar_bytes();
  summary.tar_bytes = reader->tar_bytes();
  if (!sidecar) return;
  auto mismatch = archive::compare_with_sidecar(*sidecar, report.checksum, summary);
  // Whatever layer noticed the damage first (age, zstd, tar), its name is this: first.
  if (mismatch.checksum && report.content_checked) {
    report.problems.insert(report.problems.begin(), *mismatch.checksum);
  }
  for (auto& text : mismatch.counts) report.problems.push_back(text);
  if (report.encrypted) compare_stored(sidecar, report);
}

// A repository snapshot's recipe (no frame read): every frame stored whole,
// the file's checksum the sidecar's. Returns the snapshot read at random
// from the same recipe and pack indexes.
std::unique_ptr<archive::RandomAccess> verify_recipe(const store::RepoRef& ref, const Sidecar& sidecar,
                                                     VerifyReport& report) {
  auto recipe = store::check_recipe(ref);
  report.checksum = recipe.sha256;
  for (auto& problem : recipe.problems) report.problems.push_back(std::move(problem));
  if (recipe.sha256 != sidecar.checksum) {
    report.problems.push_back("checksum mismatch: sidecar says " + sidecar.checksum + ", the recipe records " +
                              recipe.sha256);
  }
  return std::move(recipe.file);
}

// The index's figures against the sidecar's, as the walk's are.
void compare_index(const archive::SeekableIndex& index, const Sidecar& sidecar, VerifyReport& report) {
  archive::WalkSummary summary;
  summary.tar_bytes = index.tar_bytes;
  for (const auto& member : index.members) {
    if (member.counts_as_file()) ++summary.file_count;
  }
  report.members = index.members.size();
  report.file_count = summary.file_count;
  report.uncompressed_bytes = index.tar_bytes;
  report.seekable_frames = index.frames.size();
  for (auto& text : archive::compare_with_sidecar(sidecar, sidecar.checksum, summary).counts) {
    report.problems.push_back(std::move(text));
  }
}

// --no-read-data: the sidecar, the trailers (read_seekable_index checks the
// seek table against the file's size, open_seekable the index against the
// sidecar) and, in a repository, the recipe; no data frame is read.
void verify_structure(const store::Location& file, const std::vector<crypto::age::Identity>& identities,
                      const std::optional<Sidecar>& sidecar, VerifyReport& report) {
  report.data_read = false;
  report.warnings.push_back("--no-read-data: only the structure was checked, no data frame was read");
  if (!sidecar) {
    report.problems.push_back("no sidecar: --no-read-data has nothing to check the index against");
    return;
  }
  try {
    std::optional<Seekable> seekable;
    if (auto ref = store::repository_ref(file)) {
      seekable = open_seekable(verify_recipe(*ref, *sidecar, report), file, sidecar);
    } else {
      seekable = open_seekable(file, identities, {}, sidecar);
    }
    if (!seekable) {
      report.problems.push_back("no index (one zstd frame, or another tool's file): only a full verify checks it");
      return;
    }
    report.content_checked = true;
    report.bytes_read = seekable->file->bytes_read();
    compare_index(seekable->index, *sidecar, report);
  } catch (const store::StorageError&) {
    throw;  // the storage failed, not the snapshot
  } catch (const Error& e) {
    if (e.code() == Exit::usage) throw;  // no key for an encrypted one
    report.problems.push_back(e.what());
  }
}
}  // namespace

VerifyReport verify_snapshot(const store::Location& file, const std::vector<crypto::age::Identity>& identities,
                             const std::string& sidecar_file, bool read_data) {
  VerifyReport report;
  report.snapshot = file.text();
  if (!read_data && file.is_stream()) {
    throw Error("--no-read-data reads a snapshot's trailers at the end of the file: give a file, not standard input",
                Exit::usage);
  }
  SnapshotFormat format;
  std::unique_ptr<archive::ByteSource> source;
  try {
    source = store::open_snapshot(file, sidecar_file);
    format = detect_format(*source);
  } catch (const store::StorageError&) {
    throw;  // the bucket could not be read: not a verdict on the snapshot
  } catch (const store::KeyMissing&) {
    throw;
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return report;
  }
  report.format = archive::format_name(format);
  report.encrypted = format == SnapshotFormat::tar_zst_age;
  auto sidecar = read_sidecar_of(*source, report);
  if (!read_data) {
    verify_structure(file, identities, sidecar, report);
    return report;
  }
  if (report.encrypted && identities.empty()) {
    verify_without_key(*source, sidecar, report);
    return report;
  }
  if (!report.encrypted && !identities.empty() && !store::repository_ref(file)) {
    report.warnings.push_back("the snapshot is not encrypted: the identity is not needed");
  }
  if (report.encrypted) {
    try {
      archive::check_age_header(*source, identities);
    } catch (const Error& e) {
      report.problems.push_back(e.what());
      return report;
    }
  }
  std::vector<archive::Member> members;
  verify_content(*source, format, identities, sidecar, report, members);
  // The index and seek table of a local or repository .tar.zst (later: plain objects in buckets, encrypted).
  if (format == SnapshotFormat::tar_zst && (file.is_local() || store::repository_ref(file))) {
    verify_seekable(file, members, sidecar ? sidecar->index_sha256 : std::nullopt, report);
  }
  return report;
}

}  // namespace dockform::ops
