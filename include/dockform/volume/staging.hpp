#pragma once
// The staging protocol that makes a restore all-or-nothing.
//
// Inside the volume root, dockform owns three kinds of names:
//   .dockform-restore-<id>/  the snapshot, extracted and not yet live
//   .dockform-old-<id>/      the previous content, during the swap
//   .dockform-swap-<id>      the swap journal: its phase (1, 2 or 3)
// The journal is written only after the extracted content was verified, so:
//   no journal    -> the restore never committed: staging is removed, the live
//                    content was never touched;
//   phase 1       -> live entries are being moved into the old folder;
//   phase 2       -> staged entries are being moved to the root;
//   phase 3       -> the new content is live, only cleanup is left.
// Every step is a rename inside one filesystem, and every phase can be redone,
// so a run killed at any point is finished (rolled forward) by the next one.
// dockform-helper carries the protocol out (src/helper/swap.cpp); this side
// starts it and reads its report.
#include <cstdint>
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"
#include "dockform/volume/helper.hpp"

namespace dockform::volume {

struct VolumeState {
  std::uint64_t entries = 0;           // entries at the root, dockform's own excluded
  std::uint64_t free_bytes = 0;        // available on the volume's filesystem
  std::vector<std::string> recovered;  // what was found and done about earlier runs
};

// Finishes or rolls back what an interrupted restore left, then looks at the volume.
VolumeState prepare_volume(engine::Engine& engine, const HelperImage& image, const std::string& volume);

// Parses the prepare part's report (entries=, free_kb=, recovered= lines).
VolumeState parse_volume_state(const std::string& output);

// A fresh staging id (12 characters of [a-z0-9]).
std::string new_staging_id();

// The single restore helper (src/volume/restore_helper.cpp): finishes or
// removes what an interrupted restore left, reports the volume's state and
// creates the staging folder `id`, then takes one command a line on its stdin:
// "flush" (syncfs), "go" (journal and swap), anything else (removes the
// staging folder). At the end of its input it leaves things as they are.
// With `paths` (normalised, util/subtree.hpp) the swap replaces only the
// subtrees at those paths (a partial restore; src/helper/swap.hpp).
HelperSpec restore_helper_spec(const HelperImage& image, const std::string& volume, const std::string& id,
                               const std::vector<std::string>& paths = {});

// The helper command that extracts stdin into the existing staging folder
// `id`. An archive without a root member leaves the staging folder with the
// volume root's owner, mode, xattrs and ACLs (the swap copies them back);
// no_privileged_bits: setuid/setgid bits, file capabilities and device nodes
// are dropped, a warning each. With `paths`, only the members at or below
// them and the folders above them are extracted.
std::vector<std::string> extract_command(const std::string& id, bool no_privileged_bits,
                                         const std::vector<std::string>& paths = {});

// Removes the staging folder `id` (with a helper of its own).
void remove_staging(engine::Engine& engine, const HelperImage& image, const std::string& volume, const std::string& id);

// Recovery before a snapshot: archiving a half-finished restore would
// preserve a mix of old and new content. When the volume root holds what a
// killed restore left (staging, old content, a swap journal), finishes or
// removes it under the volume lock, so a live restore is never disturbed,
// and says so. Returns what was done (empty when the volume was clean).
std::vector<std::string> finish_interrupted_restore(engine::Engine& engine, const HelperImage& image,
                                                    const std::string& volume);

}  // namespace dockform::volume
