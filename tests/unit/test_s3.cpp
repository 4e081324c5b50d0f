// s3:// locations and the S3 settings read the way the AWS tools read them.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <optional>
#include <string>

#include "dockform/store/s3/s3_client.hpp"
#include "dockform/store/s3/s3_sink.hpp"
#include "dockform/store/s3/s3_store.hpp"
#include "dockform/util/error.hpp"
#include "test_support.hpp"

namespace dockform::store {
namespace {

// Sets (or unsets, with nullopt) the AWS variables for one test and puts
// back what was there before.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::optional<std::string>>& values) {
    for (const char* name : kNames) {
      const char* old = std::getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
      ::unsetenv(name);
    }
    for (const auto& [name, value] : values) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  static constexpr const char* kNames[] = {"AWS_ACCESS_KEY_ID",
                                           "AWS_SECRET_ACCESS_KEY",
                                           "AWS_SESSION_TOKEN",
                                           "AWS_REGION",
                                           "AWS_DEFAULT_REGION",
                                           "AWS_PROFILE",
                                           "AWS_SHARED_CREDENTIALS_FILE",
                                           "AWS_CONFIG_FILE",
                                           "AWS_ENDPOINT_URL_S3",
                                           "AWS_ENDPOINT_URL",
                                           "AWS_CA_BUNDLE",
                                           "DOCKFORM_S3_MAX_ATTEMPTS",
                                           "DOCKFORM_S3_ABANDONED_AFTER",
                                           "HOME"};
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST(S3Url, BucketAndPrefix) {
  auto url = parse_s3_url("s3://backups/nightly/host-a/");
  EXPECT_EQ(url.bucket, "backups");
  EXPECT_EQ(url.key, "nightly/host-a");
  EXPECT_EQ(url.text(), "s3://backups/nightly/host-a");
  auto bare = parse_s3_url("s3://backups");
  EXPECT_EQ(bare.bucket, "backups");
  EXPECT_EQ(bare.key, "");
  EXPECT_EQ(bare.text(), "s3://backups");
}

TEST(S3Url, OnlyTheSchemeMakesAnS3Location) {
  EXPECT_TRUE(is_s3_url("s3://b/k"));
  EXPECT_FALSE(is_s3_url("./s3:/b"));
  EXPECT_FALSE(is_s3_url("S3://b"));
  EXPECT_FALSE(is_s3_url("/srv/s3://b"));
}

TEST(S3Url, MalformedIsAUsageError) {
  for (const char* text : {"s3://", "s3:///key", "s3://b//k", "s3://b/a//c"}) {
    SCOPED_TRACE(text);
    test::expect_error([&] { parse_s3_url(text); }, Exit::usage, text);
  }
}

TEST(S3Config, EnvironmentWins) {
  test::TempDir dir;
  auto credentials =
      dir.write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n");
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                 {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                 {"AWS_SESSION_TOKEN", "TOKEN"},
                 {"AWS_REGION", "eu-west-3"},
                 {"AWS_DEFAULT_REGION", "us-west-2"},
                 {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:7480/"},
                 {"AWS_ENDPOINT_URL", "http://other:1"},
                 {"AWS_SHARED_CREDENTIALS_FILE", credentials.string()},
                 {"DOCKFORM_S3_MAX_ATTEMPTS", "2"}});
  auto config = S3Config::from_environment();
  EXPECT_EQ(config.access_key, "ENVKEY");
  EXPECT_EQ(config.secret_key, "ENVSECRET");
  EXPECT_EQ(config.session_token, "TOKEN");
  EXPECT_EQ(config.region, "eu-west-3");
  EXPECT_EQ(config.endpoint, "http://127.0.0.1:7480");  // trailing slash dropped
  EXPECT_EQ(config.max_attempts, 2);
}

TEST(S3Config, NamedProfileFromTheSharedFiles) {
  test::TempDir dir;
  auto credentials = dir.write("credentials",
                               "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = DEFSECRET\n"
                               "# a comment\n[backup]\n  aws_access_key_id=BKEY \naws_secret_access_key = BSECRET\n"
                               "aws_session_token = BTOKEN\n");
  auto config_file = dir.write("config",
                               "[default]\nregion = us-east-2\n[profile backup]\nregion = eu-central-1\n"
                               "endpoint_url = https://s3.example.net\n");
  ScopedEnv env({{"AWS_PROFILE", "backup"},
                 {"AWS_SHARED_CREDENTIALS_FILE", credentials.string()},
                 {"AWS_CONFIG_FILE", config_file.string()}});
  auto config = S3Config::from_environment();
  EXPECT_EQ(config.access_key, "BKEY");
  EXPECT_EQ(config.secret_key, "BSECRET");
  EXPECT_EQ(config.session_token, "BTOKEN");
  EXPECT_EQ(config.region, "eu-central-1");
  EXPECT_EQ(config.endpoint, "https://s3.example.net");
}

TEST(S3Config, DefaultProfileUnderHome) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / ".aws");
  dir.write(".aws/credentials", "[default]\naws_access_key_id = HKEY\naws_secret_access_key = HSECRET\n");
  dir.write(".aws/config", "[default]\nregion = ap-south-1\n");
  ScopedEnv env({{"HOME", dir.path().string()}, {"AWS_DEFAULT_REGION", std::nullopt}});
  auto config = S3Config::from_environment();
  EXPECT_EQ(config.access_key, "HKEY");
  EXPECT_EQ(config.secret_key, "HSECRET");
  EXPECT_EQ(config.region, "ap-south-1");
  EXPECT_EQ(config.endpoint, "");  // AWS itself
}

TEST(S3Config, RegionFallsBackToDefaultRegionThenUsEast1) {
  test::TempDir dir;
  {
    ScopedEnv env({{"HOME", dir.path().string()}, {"AWS_DEFAULT_REGION", "sa-east-1"}});
    EXPECT_EQ(S3Config::from_environment().region, "sa-east-1");
  }
  ScopedEnv env({{"HOME", dir.path().string()}});
  EXPECT_EQ(S3Config::from_environment().region, "us-east-1");
}

TEST(S3Client, MissingCredentialsNameTheBucketAndExitAsStorage) {
  S3Config config;
  config.endpoint = "http://127.0.0.1:1";
  const Error e = test::thrown_by([&] { S3Client client(config, "photos"); });
  EXPECT_EQ(e.code(), Exit::storage);
  EXPECT_NE(std::string(e.what()).find("photos"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("AWS_ACCESS_KEY_ID"), std::string::npos) << e.what();
}

TEST(S3Client, UnreachableEndpointIsAStorageErrorNamingBucketAndEndpoint) {
  S3Config config;
  config.access_key = "K";
  config.secret_key = "S";
  config.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  config.max_attempts = 1;
  S3Client client(config, "photos");
  try {
    client.check_bucket();
    ADD_FAILURE() << "an unreachable endpoint answered";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.Error::code(), Exit::storage);
    std::string text = e.what();
    EXPECT_NE(text.find("bucket photos"), std::string::npos) << text;
    EXPECT_NE(text.find("http://127.0.0.1:1"), std::string::npos) << text;
  }
}

TEST(S3AbandonedAfter, WholeSecondsOrTheDefault) {
  {
    ScopedEnv env({});
    EXPECT_EQ(abandoned_upload_age(), 24 * 3600);
  }
  {
    ScopedEnv env({{"DOCKFORM_S3_ABANDONED_AFTER", std::optional<std::string>("")}});
    EXPECT_EQ(abandoned_upload_age(), 24 * 3600);
  }
  for (const auto& [text, seconds] : std::map<std::string, std::time_t>{{"0", 0}, {"1", 1}, {"3600", 3600}}) {
    ScopedEnv env({{"DOCKFORM_S3_ABANDONED_AFTER", std::optional<std::string>(text)}});
    EXPECT_EQ(abandoned_upload_age(), seconds) << text;
  }
}

TEST(S3AbandonedAfter, AnythingElseIsAUsageErrorNamingTheVariable) {
  // atoll read each of these as 0 (or as 10, or as LLONG_MAX): none is a number of seconds.
  for (const char* bad : {"abc", "-5", "10x", "1.5", " 60", "+60", "24h", "99999999999999999999"}) {
    ScopedEnv env({{"DOCKFORM_S3_ABANDONED_AFTER", std::optional<std::string>(bad)}});
    try {
      abandoned_upload_age();
      FAIL() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Exit::usage) << bad;
      EXPECT_NE(std::string(e.what()).find("DOCKFORM_S3_ABANDONED_AFTER=" + std::string(bad)), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(check_s3_sink_settings(), Error) << bad;
  }
}

TEST(S3Xml, NamedEntitiesAndCharacterReferences) {
  using dockform::store::xml_decode;
  EXPECT_EQ(xml_decode("a&amp;b&lt;c&gt;&quot;&apos;"), "a&b<c>\"'");
  EXPECT_EQ(xml_decode("line&#13;end"), "line\rend");
  EXPECT_EQ(xml_decode("line&#xD;end&#x0a;"), "line\rend\n");  // hex, not read as decimal
  EXPECT_EQ(xml_decode("&#xe9;&#233;"), "\xc3\xa9\xc3\xa9");   // above 127: UTF-8
  EXPECT_EQ(xml_decode("&#x1F600;"), "\xf0\x9f\x98\x80");
}

TEST(S3Xml, WhatIsNotAnEntityIsKept) {
  using dockform::store::xml_decode;
  EXPECT_EQ(xml_decode("a & b"), "a & b");
  EXPECT_EQ(xml_decode("&unknown;"), "&unknown;");
  EXPECT_EQ(xml_decode("&#xZZ;&#;&#0;&#xD800;"), "&#xZZ;&#;&#0;&#xD800;");
  EXPECT_EQ(xml_decode("tail &amp"), "tail &amp");
}

}  // namespace
}  // namespace dockform::store
