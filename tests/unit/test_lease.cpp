// Holder labels and the liveness rule of lock containers, from inspect
// documents as the engine returns them.
#include <gtest/gtest.h>

#include <fstream>

#include "dockform/util/process.hpp"
#include "dockform/volume/lease.hpp"

namespace {
using dockform::engine::json;
using dockform::volume::Liveness;

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string line;
  std::getline(in, line);
  return line;
}

json lock_document(const std::string& status, json labels) {
  return json{{"Id", "abc"}, {"State", {{"Status", status}}}, {"Config", {{"Labels", labels}}}};
}

const std::string kForeign = "00000000-0000-0000-0000-000000000000:4242:1";
}  // namespace

TEST(Lease, HolderFromLabelsNamesHostPidAndSince) {
  json labels = {{"io.dockform.owner", kForeign},
                 {"io.dockform.host", "web-1"},
                 {"io.dockform.pid", "4242"},
                 {"io.dockform.since", "2026-11-27T03:00:12Z"}};
  auto holder = dockform::volume::holder_from_labels(labels);
  EXPECT_EQ(holder.host, "web-1");
  EXPECT_EQ(holder.pid, 4242);
  EXPECT_EQ(dockform::volume::describe(holder), "dockform pid 4242 on host web-1 since 2026-11-27T03:00:12Z");
}

TEST(Lease, LegacyOwnerIsDescribedFromTheOwnerLabel) {
  auto holder = dockform::volume::holder_from_labels(json{{"io.dockform.owner", kForeign}});
  EXPECT_EQ(holder.pid, 4242);
  EXPECT_EQ(dockform::volume::describe(holder),
            "dockform pid 4242 on another machine or boot (owner " + kForeign + ")");
}

TEST(Lease, RunningLeaseIsAliveWhateverTheMachine) {
  json labels = {{"io.dockform.owner", kForeign}, {"io.dockform.lease", "60"}};
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("running", labels)), Liveness::alive);
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("exited", labels)), Liveness::gone);
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("removing", labels)), Liveness::gone);
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("created", labels)), Liveness::starting);
}

TEST(Lease, FastPathThisBootPidGoneIsGoneEvenWhileRunning) {
  // A pid that no process of this PID namespace has.
  auto pid_namespace = dockform::util::parse_owner(dockform::util::my_owner_identity())->pid_namespace;
  json labels = {{"io.dockform.owner", boot_id() + ":999999999:1:" + pid_namespace}, {"io.dockform.lease", "60"}};
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("running", labels)), Liveness::gone);
}

TEST(Lease, LegacyLocksAreJudgedOnlyOnTheirMachine) {
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("created", json{{"io.dockform.owner", kForeign}})),
            Liveness::unknown);
  json mine = {{"io.dockform.owner", dockform::util::my_owner_identity()}};
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("created", mine)), Liveness::alive);
  EXPECT_EQ(dockform::volume::lease_liveness(lock_document("created", json::object())), Liveness::gone);
}
