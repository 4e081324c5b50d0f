// Endpoint resolution in the Docker CLI's order (DOCKER_HOST, DOCKER_CONTEXT,
// currentContext, the standard socket), TLS from the environment and from the
// context store, ssh:// URLs and the ssh command line built from them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dockform/engine/endpoint.hpp"
#include "dockform/engine/ssh.hpp"
#include "dockform/util/error.hpp"
#include "test_support.hpp"

namespace dockform::engine {
namespace {

namespace fs = std::filesystem;

using test::env_of;
using test::TempDir;
using test::write_plain;

// Hashes from `printf %s NAME | sha256sum`, not from the code under test.
constexpr const char* kOtherHash = "e5b7317b4c579abc78701053aeaa992a483d77e8eb234efef7bb75719e653c9f";  // other-ctx
constexpr const char* kTlsHash = "f29671c36aea263eda561e45f53d2985925dff54c881728df51a83e0008fd4ef";    // tls-ctx

void write_context(const fs::path& config, const std::string& hash, const std::string& name, const std::string& host,
                   bool skip_verify = false) {
  test::write_context(config, hash, test::context_meta(name, host, skip_verify));
}

// ---------------------------------------------------------------------------
// The order of plain `docker` (no docker.context in the manifest)

TEST(EndpointOrder, DockerHostWinsOverDockerContextAndCurrentContext) {
  TempDir config;
  write_context(config.path(), kOtherHash, "other-ctx", "tcp://10.9.9.9:2375");
  write_plain(config.path() / "config.json", R"({"currentContext":"other-ctx"})");
  Endpoint endpoint = resolve_endpoint("", env_of({{"DOCKER_CONFIG", config.path().string()},
                                                   {"DOCKER_HOST", "unix:///tmp/h.sock"},
                                                   {"DOCKER_CONTEXT", "other-ctx"}}));
  EXPECT_EQ(endpoint.url, "unix:///tmp/h.sock");
  EXPECT_EQ(endpoint.source, "DOCKER_HOST");
  EXPECT_EQ(endpoint.context, "default");
}

TEST(EndpointOrder, DockerContextWinsOverCurrentContext) {
  TempDir config;
  write_context(config.path(), kOtherHash, "other-ctx", "tcp://10.9.9.9:2375");
  write_plain(config.path() / "config.json", R"({"currentContext":"missing-ctx"})");
  Endpoint endpoint =
      resolve_endpoint("", env_of({{"DOCKER_CONFIG", config.path().string()}, {"DOCKER_CONTEXT", "other-ctx"}}));
  EXPECT_EQ(endpoint.host_port, "10.9.9.9:2375");
  EXPECT_EQ(endpoint.source, "DOCKER_CONTEXT other-ctx");
  EXPECT_EQ(endpoint.context, "other-ctx");
}

TEST(EndpointOrder, CurrentContextOfConfigJson) {
  TempDir config;
  write_context(config.path(), kOtherHash, "other-ctx", "ssh://me@box:2222");
  write_plain(config.path() / "config.json", R"({"auths":{},"currentContext":"other-ctx"})");
  Endpoint endpoint = resolve_endpoint("", env_of({{"DOCKER_CONFIG", config.path().string()}}));
  EXPECT_EQ(endpoint.kind, Endpoint::Kind::ssh);
  EXPECT_EQ(endpoint.source, "current context other-ctx");
}

TEST(EndpointOrder, CurrentContextUnderHomeWhenDockerConfigIsUnset) {
  TempDir home;
  write_context(home.path() / ".docker", kOtherHash, "other-ctx", "tcp://10.1.1.1:2375");
  write_plain(home.path() / ".docker" / "config.json", R"({"currentContext":"other-ctx"})");
  EXPECT_EQ(resolve_endpoint("", env_of({{"HOME", home.path().string()}})).host_port, "10.1.1.1:2375");
}

TEST(EndpointOrder, StandardSocketWhenNothingIsSet) {
  TempDir config;
  for (const char* current : {"", R"({"currentContext":"default"})", "{}"}) {
    if (*current != '\0') write_plain(config.path() / "config.json", current);
    Endpoint endpoint =
        resolve_endpoint("", env_of({{"DOCKER_CONFIG", config.path().string()}, {"DOCKER_CONTEXT", ""}}));
    EXPECT_EQ(endpoint.url, "unix:///var/run/docker.sock");
    EXPECT_EQ(endpoint.source, "default");
    EXPECT_EQ(endpoint.transport(), "unix");
  }
}

TEST(EndpointOrder, DockerContextDefaultMeansTheEnvironment) {
  TempDir config;
  write_plain(config.path() / "config.json", R"({"currentContext":"other-ctx"})");
  Endpoint endpoint =
      resolve_endpoint("", env_of({{"DOCKER_CONFIG", config.path().string()}, {"DOCKER_CONTEXT", "default"}}));
  EXPECT_EQ(endpoint.url, "unix:///var/run/docker.sock");
}

TEST(EndpointOrder, UnknownCurrentContextIsUnreachable) {
  TempDir config;
  write_plain(config.path() / "config.json", R"({"currentContext":"gone"})");
  test::expect_error(
      [&] {
        resolve_endpoint("", env_of({{"DOCKER_CONFIG", config.path().string()}}));
      },
      Exit::unreachable, "'gone' not found");
}

TEST(EndpointOrder, UnreadableConfigJsonIsUnreachable) {
  TempDir config;
  write_plain(config.path() / "config.json", "{not json");
  test::expect_error(
      [&] {
        resolve_endpoint("", env_of({{"DOCKER_CONFIG", config.path().string()}}));
      },
      Exit::unreachable, "config.json");
}

// `docker --context default`: the environment, never DOCKER_CONTEXT or currentContext.
TEST(EndpointOrder, ManifestDefaultIgnoresDockerContextAndCurrentContext) {
  TempDir config;
  write_context(config.path(), kOtherHash, "other-ctx", "tcp://10.9.9.9:2375");
  write_plain(config.path() / "config.json", R"({"currentContext":"other-ctx"})");
  auto env = env_of({{"DOCKER_CONFIG", config.path().string()}, {"DOCKER_CONTEXT", "other-ctx"}});
  EXPECT_EQ(resolve_endpoint("default", env).url, "unix:///var/run/docker.sock");
}

// `docker --context NAME`: DOCKER_HOST does not matter.
TEST(EndpointOrder, ManifestContextWinsOverDockerHost) {
  TempDir config;
  write_context(config.path(), kOtherHash, "other-ctx", "tcp://10.9.9.9:2375");
  Endpoint endpoint = resolve_endpoint(
      "other-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}, {"DOCKER_HOST", "unix:///x.sock"}}));
  EXPECT_EQ(endpoint.host_port, "10.9.9.9:2375");
  EXPECT_EQ(endpoint.context, "other-ctx");
}

// ---------------------------------------------------------------------------
// TLS

TEST(EndpointTls, DockerTlsVerifyUsesTheCertPath) {
  TempDir certs;
  write_plain(certs.path() / "cert.pem", "c");
  write_plain(certs.path() / "key.pem", "k");
  Endpoint endpoint = resolve_endpoint("", env_of({{"DOCKER_HOST", "tcp://10.0.0.1:2376"},
                                                   {"DOCKER_TLS_VERIFY", "1"},
                                                   {"DOCKER_CERT_PATH", certs.path().string()}}));
  EXPECT_TRUE(endpoint.tls.enabled);
  EXPECT_TRUE(endpoint.tls.verify);
  EXPECT_EQ(endpoint.tls.ca_file, (certs.path() / "ca.pem").string());  // checked when connecting
  EXPECT_EQ(endpoint.tls.cert_file, (certs.path() / "cert.pem").string());
  EXPECT_EQ(endpoint.tls.key_file, (certs.path() / "key.pem").string());
  EXPECT_EQ(endpoint.transport(), "tcp+tls");
  EXPECT_EQ(endpoint.http_base(), "https://10.0.0.1:2376");
}

TEST(EndpointTls, AnyNonEmptyValueTurnsVerificationOn) {
  Endpoint endpoint = resolve_endpoint("", env_of({{"DOCKER_HOST", "tcp://h:1"}, {"DOCKER_TLS_VERIFY", "0"}}));
  EXPECT_TRUE(endpoint.tls.verify);
  Endpoint off = resolve_endpoint("", env_of({{"DOCKER_HOST", "tcp://h:1"}, {"DOCKER_TLS_VERIFY", ""}}));
  EXPECT_FALSE(off.tls.enabled);
  EXPECT_EQ(off.http_base(), "http://h:1");
}

TEST(EndpointTls, CertPathDefaultsToTheDockerConfigFolder) {
  TempDir config;
  write_plain(config.path() / "cert.pem", "c");
  Endpoint endpoint = resolve_endpoint(
      "",
      env_of({{"DOCKER_HOST", "tcp://h:1"}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CONFIG", config.path().string()}}));
  EXPECT_EQ(endpoint.tls.ca_file, (config.path() / "ca.pem").string());
  EXPECT_EQ(endpoint.tls.cert_file, (config.path() / "cert.pem").string());
  EXPECT_EQ(endpoint.tls.key_file, "");  // absent: not sent
}

TEST(EndpointTls, DockerTlsAloneDoesNotVerify) {
  Endpoint endpoint = resolve_endpoint("", env_of({{"DOCKER_HOST", "tcp://h:1"}, {"DOCKER_TLS", "1"}}));
  EXPECT_TRUE(endpoint.tls.enabled);
  EXPECT_FALSE(endpoint.tls.verify);
  EXPECT_EQ(endpoint.tls.ca_file, "");
}

TEST(EndpointTls, DefaultPortFollowsTls) {
  EXPECT_EQ(resolve_endpoint("", env_of({{"DOCKER_HOST", "tcp://h"}})).host_port, "h:2375");
  EXPECT_EQ(resolve_endpoint("", env_of({{"DOCKER_HOST", "tcp://h"}, {"DOCKER_TLS_VERIFY", "1"}})).host_port, "h:2376");
}

TEST(EndpointTls, NotForUnixOrSsh) {
  for (const char* host : {"unix:///tmp/d.sock", "ssh://box"}) {
    Endpoint endpoint = resolve_endpoint("", env_of({{"DOCKER_HOST", host}, {"DOCKER_TLS_VERIFY", "1"}}));
    EXPECT_FALSE(endpoint.tls.enabled) << host;
  }
}

TEST(EndpointTls, ContextWithTlsFiles) {
  TempDir config;
  write_context(config.path(), kTlsHash, "tls-ctx", "tcp://10.2.2.2:2376");
  fs::path tls = config.path() / "contexts" / "tls" / kTlsHash / "docker";
  write_plain(tls / "ca.pem", "a");
  write_plain(tls / "cert.pem", "c");
  write_plain(tls / "key.pem", "k");
  // The environment's TLS settings belong to the default context only.
  Endpoint endpoint =
      resolve_endpoint("tls-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}, {"DOCKER_TLS", "1"}}));
  EXPECT_TRUE(endpoint.tls.enabled);
  EXPECT_TRUE(endpoint.tls.verify);
  EXPECT_EQ(endpoint.tls.ca_file, (tls / "ca.pem").string());
  EXPECT_EQ(endpoint.tls.cert_file, (tls / "cert.pem").string());
  EXPECT_EQ(endpoint.tls.key_file, (tls / "key.pem").string());
}

TEST(EndpointTls, ContextWithoutTlsFilesIsPlainTcp) {
  TempDir config;
  write_context(config.path(), kTlsHash, "tls-ctx", "tcp://10.2.2.2:2375");
  Endpoint endpoint = resolve_endpoint("tls-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}}));
  EXPECT_FALSE(endpoint.tls.enabled);
  EXPECT_EQ(endpoint.transport(), "tcp");
}

TEST(EndpointTls, ContextSkipTlsVerify) {
  TempDir config;
  write_context(config.path(), kTlsHash, "tls-ctx", "tcp://10.2.2.2:2376", true);
  Endpoint endpoint = resolve_endpoint("tls-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}}));
  EXPECT_TRUE(endpoint.tls.enabled);
  EXPECT_FALSE(endpoint.tls.verify);
}

// ---------------------------------------------------------------------------
// ssh

TEST(EndpointSsh, Parts) {
  Endpoint full = parse_endpoint("ssh://deploy@db.example:2222/run/user/1000/docker.sock");
  EXPECT_EQ(full.kind, Endpoint::Kind::ssh);
  EXPECT_EQ(full.ssh_user, "deploy");
  EXPECT_EQ(full.ssh_host, "db.example");
  EXPECT_EQ(full.ssh_port, "2222");
  EXPECT_EQ(full.socket_path, "/run/user/1000/docker.sock");
  EXPECT_EQ(full.transport(), "ssh");

  Endpoint bare = parse_endpoint("ssh://box");
  EXPECT_EQ(bare.ssh_host, "box");
  EXPECT_EQ(bare.ssh_user, "");
  EXPECT_EQ(bare.ssh_port, "");
  EXPECT_EQ(bare.socket_path, "");

  Endpoint v6 = parse_endpoint("ssh://[::1]:22");
  EXPECT_EQ(v6.ssh_host, "::1");
  EXPECT_EQ(v6.ssh_port, "22");
}

TEST(EndpointSsh, CommandLikeTheDockerCli) {
  auto env = env_of({});
  EXPECT_EQ(ssh_command(parse_endpoint("ssh://deploy@box:2222"), env),
            (std::vector<std::string>{"ssh", "-o", "ConnectTimeout=30", "-T", "-l", "deploy", "-p", "2222", "--", "box",
                                      "docker", "system", "dial-stdio"}));
  EXPECT_EQ(ssh_command(parse_endpoint("ssh://box/var/run/d.sock"), env),
            (std::vector<std::string>{"ssh", "-o", "ConnectTimeout=30", "-T", "--", "box", "docker",
                                      "--host=unix:///var/run/d.sock", "system", "dial-stdio"}));
}

TEST(EndpointSsh, ExtraOptionsFromDockformSshOpts) {
  auto env = env_of({{"DOCKFORM_SSH_OPTS", "  -F /tmp/cfg   -o BatchMode=yes "}});
  EXPECT_EQ(ssh_command(parse_endpoint("ssh://box"), env),
            (std::vector<std::string>{"ssh", "-o", "ConnectTimeout=30", "-T", "-F", "/tmp/cfg", "-o", "BatchMode=yes",
                                      "--", "box", "docker", "system", "dial-stdio"}));
}

}  // namespace
}  // namespace dockform::engine
