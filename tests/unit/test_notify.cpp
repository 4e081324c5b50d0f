// notify: ping URLs, masking, webhook bodies, the summary's cap, metrics
// merging and rendering; util::parse_duration.
#include <gtest/gtest.h>

#include <string>

#include "dockform/notify/metrics.hpp"
#include "dockform/notify/notify.hpp"
#include "dockform/notify/send.hpp"
#include "dockform/util/duration.hpp"

namespace dockform::notify {
namespace {

RunReport sample(int exit_code) {
  RunReport report;
  report.command = "snapshot";
  report.host = "web-1";
  report.started_at = 1764990000;
  report.duration_seconds = 2.5;
  report.exit_code = exit_code;
  VolumeOutcome ok;
  ok.volume = "data";
  ok.seconds = 2;
  ok.stored_bytes = 1000;
  ok.tar_bytes = 4096;
  ok.files = 3;
  report.succeeded(ok);
  if (exit_code != 0) report.failed("db", "volume db not found");
  return report;
}

TEST(Duration, ParsesUnitsAndSums) {
  EXPECT_EQ(util::parse_duration("90s"), 90);
  EXPECT_EQ(util::parse_duration("45m"), 2700);
  EXPECT_EQ(util::parse_duration("26h"), 93600);
  EXPECT_EQ(util::parse_duration("7d"), 604800);
  EXPECT_EQ(util::parse_duration("2w"), 1209600);
  EXPECT_EQ(util::parse_duration("1d12h"), 129600);
  for (const char* bad : {"", "26", "h", "-1h", "1.5h", "1x", "1h ", " 1h", "99999999999999999999s", "1dd"}) {
    EXPECT_FALSE(util::parse_duration(bad)) << bad;
  }
  EXPECT_EQ(util::format_duration(93600 + 300), "1d 2h");
  EXPECT_EQ(util::format_duration(45), "45s");
  EXPECT_EQ(util::format_duration(0), "0s");
}

TEST(Send, MasksUserInfoAndQuery) {
  EXPECT_EQ(mask_url("https://user:secret@hc.example/ping/abc?token=x#frag"),
            "https://***@hc.example/ping/abc?***#frag");
  EXPECT_EQ(mask_url("http://127.0.0.1:9/p"), "http://127.0.0.1:9/p");
  EXPECT_EQ(mask_url("https://h/p?a=1"), "https://h/p?***");
}

TEST(Ping, SuffixGoesBeforeTheQuery) {
  EXPECT_EQ(ping_url("https://hc-ping.com/uuid", "start"), "https://hc-ping.com/uuid/start");
  EXPECT_EQ(ping_url("https://hc-ping.com/uuid/", "0"), "https://hc-ping.com/uuid/0");
  EXPECT_EQ(ping_url("https://h/uuid?rid=1", "1"), "https://h/uuid/1?rid=1");
}

TEST(Webhook, BodyShapeFollowsTheScheme) {
  auto report = sample(1);
  auto slack = webhook_request("slack+https://hooks.slack.com/services/T/B/x", report);
  EXPECT_EQ(slack.url, "https://hooks.slack.com/services/T/B/x");
  auto text = nlohmann::json::parse(slack.body);
  ASSERT_EQ(text.size(), 1u);
  EXPECT_NE(text["text"].get<std::string>().find("FAILED (exit 1)"), std::string::npos);
  auto discord = nlohmann::json::parse(webhook_request("discord+https://d/api/webhooks/1/t", report).body);
  EXPECT_LE(discord["content"].get<std::string>().size(), 2000u);
  auto ntfy = webhook_request("ntfy+https://ntfy.sh/backups", report);
  EXPECT_EQ(ntfy.url, "https://ntfy.sh/backups");
  EXPECT_NE(std::find(ntfy.headers.begin(), ntfy.headers.end(), "Title: dockform snapshot FAILED on web-1"),
            ntfy.headers.end());
  auto generic = nlohmann::json::parse(webhook_request("https://example/hook", report).body);
  EXPECT_EQ(generic["command"], "snapshot");
  EXPECT_EQ(generic["exit_code"], 1);
  EXPECT_EQ(generic["ok"], false);
  EXPECT_EQ(generic["volumes"][1]["error"], "volume db not found");
}

TEST(Summary, IsCutAtTheLimitWithAMarker) {
  auto report = sample(1);
  for (int i = 0; i < 100000; ++i) report.warnings.push_back("warning number " + std::to_string(i) + " é");
  auto text = summary_text(report, 100 * 1000);
  EXPECT_LE(text.size(), 100u * 1000u);
  EXPECT_NE(text.find("[cut: the summary is longer than 100000 bytes]"), std::string::npos);
  EXPECT_EQ(text.rfind("dockform volume snapshot on web-1: FAILED (exit 1)", 0), 0u);
}

TEST(Metrics, FailedVolumeKeepsItsLastSuccess) {
  auto values = merge_run({}, sample(0), 1000);
  EXPECT_EQ(values["dockform_snapshot_last_success_timestamp_seconds"]["data"], "1000");
  auto failed = sample(1);
  failed.volumes[0].ok = false;  // data fails this time
  values = merge_run(parse_metrics(render_metrics(values)), failed, 2000);
  EXPECT_EQ(values["dockform_snapshot_last_success_timestamp_seconds"]["data"], "1000");
  EXPECT_EQ(values["dockform_snapshot_last_run_timestamp_seconds"]["data"], "2000");
  EXPECT_EQ(values["dockform_snapshot_success"]["data"], "0");
  EXPECT_EQ(values["dockform_snapshot_success"]["db"], "0");
  EXPECT_EQ(values["dockform_snapshot_stored_bytes"]["data"], "1000");
  EXPECT_FALSE(values["dockform_snapshot_last_success_timestamp_seconds"].count("db"));
}

TEST(Metrics, RenderHasHelpAndTypeAndParsesBack) {
  auto text = render_metrics(merge_run({}, sample(0), 1000));
  EXPECT_NE(text.find("# HELP dockform_snapshot_success "), std::string::npos);
  EXPECT_NE(text.find("# TYPE dockform_snapshot_success gauge\ndockform_snapshot_success{volume=\"data\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(parse_metrics(text), merge_run({}, sample(0), 1000));
}

TEST(Metrics, GatewayTextIsFilteredByJobAndInstance) {
  std::string text =
      "# TYPE dockform_snapshot_success gauge\n"
      "dockform_snapshot_success{instance=\"web-1\",job=\"dockform\",volume=\"a\"} 1\n"
      "dockform_snapshot_success{instance=\"web-2\",job=\"dockform\",volume=\"b\"} 0\n"
      "push_time_seconds{instance=\"web-1\",job=\"dockform\"} 1.7e+09\n"
      "dockform_snapshot_success{instance=\"web-1\",job=\"other\",volume=\"c\"} 1\n";
  auto values = parse_metrics(text, "dockform", "web-1");
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values["dockform_snapshot_success"], (std::map<std::string, std::string>{{"a", "1"}}));
}

}  // namespace
}  // namespace dockform::notify
