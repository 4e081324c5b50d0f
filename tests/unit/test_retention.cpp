// Retention rules (apply_retention) and the catalog's pairing of data files
// with their sidecars (add_listed_file, settle_entry, sort_newest_first):
// the parts of list and prune that need no folder or bucket.
#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "dockform/store/catalog.hpp"
#include "dockform/store/naming.hpp"
#include "dockform/store/retention.hpp"

using dockform::store::add_listed_file;
using dockform::store::apply_retention;
using dockform::store::CatalogEntry;
using dockform::store::Location;
using dockform::store::parse_iso_timestamp;
using dockform::store::RetentionDecision;
using dockform::store::RetentionPolicy;
using dockform::store::settle_entry;
using dockform::store::sort_newest_first;

namespace {
std::time_t at(const char* iso) {
  auto t = parse_iso_timestamp(iso);
  if (!t) throw std::runtime_error(std::string("bad time in test: ") + iso);
  return *t;
}

std::vector<bool> kept(const std::vector<RetentionDecision>& decisions) {
  std::vector<bool> out;
  for (const auto& d : decisions) out.push_back(d.keep);
  return out;
}
}  // namespace

TEST(Retention, NothingToDecideForNoSnapshots) { EXPECT_TRUE(apply_retention({}, {.keep_last = 3}).empty()); }

TEST(Retention, KeepLastKeepsTheNewestN) {
  std::vector<std::time_t> created = {at("2026-11-30T03:00:00Z"), at("2026-11-29T03:00:00Z"),
                                      at("2026-11-28T03:00:00Z"), at("2026-11-27T03:00:00Z")};
  auto decisions = apply_retention(created, {.keep_last = 2});
  EXPECT_EQ(kept(decisions), (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(decisions[0].reasons, std::vector<std::string>{"last"});
}

TEST(Retention, TheNewestIsAlwaysKept) {
  // A policy that keeps nothing still keeps the newest snapshot.
  auto decisions = apply_retention({at("2026-11-30T03:00:00Z"), at("2026-11-29T03:00:00Z")}, {});
  EXPECT_EQ(kept(decisions), (std::vector<bool>{true, false}));
  EXPECT_EQ(decisions[0].reasons, std::vector<std::string>{"newest"});
}

TEST(Retention, DailyKeepsTheNewestOfEachUtcDay) {
  std::vector<std::time_t> created = {at("2026-11-30T23:59:59Z"), at("2026-11-30T00:00:00Z"),
                                      at("2026-11-29T12:00:00Z"), at("2026-11-28T12:00:00Z"),
                                      at("2026-11-27T12:00:00Z")};
  auto decisions = apply_retention(created, {.keep_daily = 3});
  EXPECT_EQ(kept(decisions), (std::vector<bool>{true, false, true, true, false}));
  EXPECT_EQ(decisions[0].reasons, std::vector<std::string>{"daily 2026-11-30"});
  EXPECT_EQ(decisions[3].reasons, std::vector<std::string>{"daily 2026-11-28"});
}

TEST(Retention, WeeksAreIsoWeeksAcrossTheNewYear) {
  // 2026-12-28 (Monday) to 2027-01-03 (Sunday) are all ISO week 2026-W53.
  std::vector<std::time_t> created = {at("2027-01-04T10:00:00Z"), at("2027-01-03T10:00:00Z"),
                                      at("2026-12-28T10:00:00Z"), at("2026-12-27T10:00:00Z")};
  auto decisions = apply_retention(created, {.keep_weekly = 3});
  EXPECT_EQ(kept(decisions), (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(decisions[0].reasons, std::vector<std::string>{"weekly 2027-W01"});
  EXPECT_EQ(decisions[1].reasons, std::vector<std::string>{"weekly 2026-W53"});
  EXPECT_EQ(decisions[3].reasons, std::vector<std::string>{"weekly 2026-W52"});
}

TEST(Retention, RulesAddUpAndEachNamesItsReason) {
  std::vector<std::time_t> created = {at("2026-12-02T03:00:00Z"), at("2026-12-01T03:00:00Z"),
                                      at("2026-11-30T03:00:00Z"), at("2026-10-15T03:00:00Z"),
                                      at("2026-09-15T03:00:00Z")};
  auto decisions = apply_retention(created, {.keep_last = 1, .keep_daily = 2, .keep_monthly = 3});
  EXPECT_EQ(kept(decisions), (std::vector<bool>{true, true, true, true, false}));
  EXPECT_EQ(decisions[0].reasons, (std::vector<std::string>{"last", "daily 2026-12-02", "monthly 2026-12"}));
  EXPECT_EQ(decisions[1].reasons, std::vector<std::string>{"daily 2026-12-01"});
  EXPECT_EQ(decisions[2].reasons, std::vector<std::string>{"monthly 2026-11"});
  EXPECT_EQ(decisions[3].reasons, std::vector<std::string>{"monthly 2026-10"});
  EXPECT_TRUE(decisions[4].reasons.empty());
}

TEST(Catalog, DataFilesAndSidecarsPairByStem) {
  std::map<std::string, CatalogEntry> by_stem;
  const std::string a = "2026-11-30T03-00-00Z__spec-5df65d76";
  const std::string b = "2026-11-29T03-00-00Z__spec-5df65d76";
  const std::string c = "2026-11-28T03-00-00Z__spec-5df65d76";
  EXPECT_TRUE(add_listed_file(by_stem, "data", Location::local("/s/data/" + a + ".json")));
  EXPECT_TRUE(add_listed_file(by_stem, "data", Location::local("/s/data/" + a + ".tar.zst")));
  EXPECT_TRUE(add_listed_file(by_stem, "data", Location::local("/s/data/" + b + ".tar")));  // a plain tar, no sidecar
  EXPECT_TRUE(
      add_listed_file(by_stem, "data", Location::local("/s/data/" + c + ".json")));  // a sidecar whose data is gone
  EXPECT_FALSE(add_listed_file(by_stem, "data", Location::local("/s/data/notes.txt")));
  ASSERT_EQ(by_stem.size(), 3u);

  EXPECT_EQ(by_stem[a].data_file->text(), "/s/data/" + a + ".tar.zst");
  EXPECT_EQ(by_stem[a].sidecar_file->text(), "/s/data/" + a + ".json");
  EXPECT_EQ(by_stem[a].volume, "data");
  for (auto& [stem, entry] : by_stem) settle_entry(entry, 0);
  EXPECT_EQ(by_stem[a].problem, "");
  EXPECT_TRUE(by_stem[a].is_snapshot());
  EXPECT_EQ(by_stem[b].problem, "data file without sidecar");
  EXPECT_TRUE(by_stem[b].is_snapshot());
  EXPECT_EQ(by_stem[c].problem, "sidecar without data file");
  EXPECT_FALSE(by_stem[c].is_snapshot());
  // Without a readable sidecar the time comes from the name.
  EXPECT_EQ(by_stem[b].created, at("2026-11-29T03:00:00Z"));
}

TEST(Catalog, TheNewSidecarNameWinsOverTheLegacyOne) {
  // dockform 0.5 wrote X.tar.json; X.json is preferred whatever the listing order.
  for (bool legacy_first : {true, false}) {
    std::map<std::string, CatalogEntry> by_stem;
    const std::string stem = "2026-11-30T03-00-00Z__spec-5df65d76";
    if (legacy_first) add_listed_file(by_stem, "v", Location::local("/s/v/" + stem + ".tar.json"));
    add_listed_file(by_stem, "v", Location::local("/s/v/" + stem + ".json"));
    if (!legacy_first) add_listed_file(by_stem, "v", Location::local("/s/v/" + stem + ".tar.json"));
    ASSERT_EQ(by_stem.size(), 1u);
    EXPECT_EQ(by_stem[stem].sidecar_file->text(), "/s/v/" + stem + ".json") << legacy_first;
  }
}

TEST(Catalog, NewestFirstWithTheNameBreakingTies) {
  std::vector<CatalogEntry> entries(3);
  entries[0].stem = "b";
  entries[0].created = 100;
  entries[1].stem = "c";
  entries[1].created = 200;
  entries[2].stem = "a";
  entries[2].created = 200;
  sort_newest_first(entries);
  EXPECT_EQ(entries[0].stem, "c");
  EXPECT_EQ(entries[1].stem, "a");
  EXPECT_EQ(entries[2].stem, "b");
}

TEST(Catalog, AnUnparsableNameFallsBackToTheFileTime) {
  std::map<std::string, CatalogEntry> by_stem;
  add_listed_file(by_stem, "v", Location::local("/s/v/handmade.tar.zst"));
  auto& entry = by_stem["handmade"];
  settle_entry(entry, 1234567);
  EXPECT_EQ(entry.created, 1234567);
  EXPECT_EQ(entry.problem, "data file without sidecar");
}
