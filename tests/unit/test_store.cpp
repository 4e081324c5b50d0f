// Locations as the commands parse them, and the catalog and prune working
// through the Store interface (an in-memory store: no folder, no bucket).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dockform/store/catalog.hpp"
#include "dockform/store/location.hpp"
#include "dockform/store/retention.hpp"
#include "dockform/store/store.hpp"
#include "dockform/util/error.hpp"
#include "test_support.hpp"

using dockform::Error;
using dockform::Exit;
using dockform::store::Location;
using dockform::store::StoredFile;

namespace {
// One volume's files in memory, whose sidecars never parse; counts the sidecars read.
class MemoryStore : public dockform::store::Store {
 public:
  void add(const std::string& name) {
    files_.push_back({Location::remote("mem", "mem://b/v/" + name), name.size(), 1000});
  }
  // A snapshot's data file and its sidecar.
  void add_snapshot(const std::string& stem) {
    add(stem + ".tar.zst");
    add(stem + ".json");
  }

  std::vector<std::string> volumes() override { return {"v"}; }
  std::vector<StoredFile> files(const std::string& volume) override {
    return volume == "v" ? files_ : std::vector<StoredFile>{};
  }
  dockform::archive::Sidecar read_sidecar(const Location& file) override {
    ++sidecars_read;
    throw Error("sidecar " + file.text() + " is malformed");
  }
  std::unique_ptr<dockform::store::SnapshotSink> open_sink(const std::string&, std::time_t, const std::string&,
                                                           const std::string&) override {
    return nullptr;
  }
  void remove(const Location& file) override { removed.push_back(file.text()); }
  void sync(const std::string&) override { ++syncs; }

  int sidecars_read = 0;
  int syncs = 0;
  std::vector<std::string> removed;

 private:
  std::vector<StoredFile> files_;
};

const std::string kFirst = "2026-11-01T10-00-00Z__spec-0123abcd";
const std::string kSecond = "2026-11-02T10-00-00Z__spec-0123abcd";
const std::string kThird = "2026-11-03T10-00-00Z__spec-0123abcd";
}  // namespace

TEST(Location, ParsesWhatTheCommandsAccept) {
  EXPECT_TRUE(Location::parse("-").is_stream());
  EXPECT_EQ(Location::parse("-").text(), "-");

  auto bucket = Location::parse("s3://backups/nightly/");
  EXPECT_FALSE(bucket.is_local());
  EXPECT_EQ(bucket.scheme(), "s3");
  EXPECT_EQ(bucket.text(), "s3://backups/nightly");
  EXPECT_EQ((bucket / "data").text(), "s3://backups/nightly/data");
  EXPECT_EQ(Location::parse("s3://backups/nightly/data/x.tar.zst").filename(), "x.tar.zst");

  // Only the exact scheme is a URL; the rest are paths, made absolute.
  for (const char* text : {"S3://b", "./s3:/b", "snaps"}) {
    auto local = Location::parse(text);
    EXPECT_TRUE(local.is_local()) << text;
    EXPECT_EQ(local.path(), std::filesystem::absolute(text)) << text;
  }
  EXPECT_EQ((Location::local("/srv/snaps") / "data").text(), "/srv/snaps/data");
  EXPECT_EQ(Location::local("/srv/snaps/data/x.json").filename(), "x.json");
}

TEST(Location, AMalformedUrlIsAUsageError) {
  dockform::test::expect_error([] { Location::parse("s3:///key"); }, Exit::usage, "malformed S3 URL");
}

TEST(Store, AStreamHoldsNoSnapshotsToListOrPrune) {
  dockform::test::expect_error([] { dockform::store::open_store(Location::parse("-")); }, Exit::usage,
                               "not a place holding snapshots");
}

TEST(Store, AMissingLocalFolderHoldsNothing) {
  dockform::test::TempDir dir;
  auto store = dockform::store::open_store(Location::local(dir.path() / "none"));
  EXPECT_TRUE(store->volumes().empty());
  EXPECT_TRUE(dockform::store::list_volume(*store, "v").empty());
}

TEST(Store, ListUnreadOrdersByNameAndReadsNoSidecar) {
  MemoryStore store;
  store.add_snapshot(kFirst);
  store.add_snapshot(kThird);
  store.add(kSecond + ".tar.zst");
  auto entries = dockform::store::list_unread(store, "v");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].stem, kThird);
  EXPECT_EQ(entries[1].stem, kSecond);
  EXPECT_EQ(entries[2].stem, kFirst);
  EXPECT_EQ(store.sidecars_read, 0);
  EXPECT_EQ(entries[2].compressed_bytes, (kFirst + ".tar.zst").size());

  // An unreadable sidecar is the entry's problem, not an error of the listing.
  EXPECT_FALSE(dockform::store::read_sidecar(store, entries[0]));
  EXPECT_EQ(store.sidecars_read, 1);
  EXPECT_TRUE(dockform::test::contains(entries[0].problem, "sidecar unreadable")) << entries[0].problem;
  EXPECT_FALSE(dockform::store::read_sidecar(store, entries[1]));  // no sidecar: nothing to read
  EXPECT_EQ(store.sidecars_read, 1);
}

TEST(Store, PruneRemovesThroughTheStoreDataFirst) {
  MemoryStore store;
  store.add_snapshot(kFirst);
  store.add_snapshot(kSecond);
  auto result = dockform::store::prune_volume(store, "v", {.keep_last = 1}, false);
  ASSERT_EQ(result.removed.size(), 1u);
  EXPECT_EQ(result.removed[0].entry.stem, kFirst);
  EXPECT_EQ(store.removed,
            (std::vector<std::string>{"mem://b/v/" + kFirst + ".tar.zst", "mem://b/v/" + kFirst + ".json"}));
  EXPECT_EQ(store.syncs, 1);

  MemoryStore dry;
  dry.add(kFirst + ".tar.zst");
  dry.add(kSecond + ".tar.zst");
  EXPECT_EQ(dockform::store::prune_volume(dry, "v", {.keep_last = 1}, true).removed.size(), 1u);
  EXPECT_TRUE(dry.removed.empty());
  EXPECT_EQ(dry.syncs, 0);
}
