// Engine plumbing that needs no daemon: endpoint resolution (environment and
// Docker CLI context store), the attach stream demultiplexer, daemon error
// bodies.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dockform/engine/demux.hpp"
#include "dockform/engine/docker.hpp"
#include "dockform/engine/endpoint.hpp"
#include "dockform/engine/http.hpp"
#include "dockform/util/error.hpp"
#include "test_support.hpp"

namespace dockform::engine {
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::context_meta;
using test::env_of;
using test::random_bytes;
using test::TempDir;
using test::thrown_by;
using test::write_context;

// sha256("remote-ctx"), from `printf %s remote-ctx | sha256sum`.
constexpr const char* kRemoteCtxHash = "75b7f9fd9cf76ebe368f79f5c12d96b91d67f23a98516240dbea190d5f1c5bc0";

// ---------------------------------------------------------------------------
// parse_endpoint

TEST(EngineParseEndpoint, UnixSocket) {
  Endpoint endpoint = parse_endpoint("unix:///run/user/1000/docker.sock");
  EXPECT_EQ(endpoint.kind, Endpoint::Kind::unix_socket);
  EXPECT_EQ(endpoint.socket_path, "/run/user/1000/docker.sock");
  EXPECT_EQ(endpoint.url, "unix:///run/user/1000/docker.sock");
  EXPECT_EQ(endpoint.http_base().rfind("http://", 0), 0u);
}

TEST(EngineParseEndpoint, TcpAndHttp) {
  Endpoint tcp = parse_endpoint("tcp://10.0.0.5:2375");
  EXPECT_EQ(tcp.kind, Endpoint::Kind::tcp);
  EXPECT_EQ(tcp.host_port, "10.0.0.5:2375");
  EXPECT_EQ(tcp.url, "tcp://10.0.0.5:2375");
  EXPECT_EQ(tcp.http_base(), "http://10.0.0.5:2375");

  Endpoint http = parse_endpoint("http://docker.example:2375");
  EXPECT_EQ(http.kind, Endpoint::Kind::tcp);
  EXPECT_EQ(http.host_port, "docker.example:2375");
  EXPECT_EQ(http.http_base(), "http://docker.example:2375");

  // A trailing path is not part of host:port.
  Endpoint with_path = parse_endpoint("tcp://127.0.0.1:2376/");
  EXPECT_EQ(with_path.host_port, "127.0.0.1:2376");
}

TEST(EngineParseEndpoint, MalformedUrlsAreUsageErrors) {
  for (const char* url : {"", "unix://", "tcp://", "http://", "ftp://host:21", "/var/run/docker.sock", "docker.sock",
                          "npipe:////./pipe/docker_engine", "ssh://", "ssh://user:pw@host", "ssh://host:port",
                          "ssh://host?x=1", "ssh://-oProxyCommand=x"}) {
    Error e = thrown_by([&] { parse_endpoint(url); });
    EXPECT_EQ(e.code(), Exit::usage) << "url '" << url << "': " << e.what();
  }
}

// ---------------------------------------------------------------------------
// resolve_endpoint

TEST(EngineResolveEndpoint, DefaultContextUsesDockerHostUnix) {
  auto env = env_of({{"DOCKER_HOST", "unix:///tmp/custom/docker.sock"}});
  for (const char* context : {"default", ""}) {
    Endpoint endpoint = resolve_endpoint(context, env);
    EXPECT_EQ(endpoint.kind, Endpoint::Kind::unix_socket);
    EXPECT_EQ(endpoint.socket_path, "/tmp/custom/docker.sock");
  }
}

TEST(EngineResolveEndpoint, DefaultContextUsesDockerHostTcp) {
  Endpoint endpoint = resolve_endpoint("default", env_of({{"DOCKER_HOST", "tcp://192.168.1.20:2375"}}));
  EXPECT_EQ(endpoint.kind, Endpoint::Kind::tcp);
  EXPECT_EQ(endpoint.host_port, "192.168.1.20:2375");
}

TEST(EngineResolveEndpoint, DefaultContextWithoutDockerHostUsesTheStandardSocket) {
  for (const auto& env : {env_of({}), env_of({{"DOCKER_HOST", ""}})}) {
    Endpoint endpoint = resolve_endpoint("default", env);
    EXPECT_EQ(endpoint.kind, Endpoint::Kind::unix_socket);
    EXPECT_EQ(endpoint.socket_path, "/var/run/docker.sock");
    EXPECT_EQ(endpoint.url, "unix:///var/run/docker.sock");
  }
}

TEST(EngineResolveEndpoint, DefaultContextWithMalformedDockerHostIsUsageError) {
  Error e = thrown_by([] { resolve_endpoint("default", env_of({{"DOCKER_HOST", "bogus://x"}})); });
  EXPECT_EQ(e.code(), Exit::usage);
}

TEST(EngineResolveEndpoint, NamedContextFromDockerConfig) {
  TempDir config;
  write_context(config.path(), kRemoteCtxHash, context_meta("remote-ctx", "unix:///tmp/x.sock"));
  // DOCKER_HOST must not matter for a named context.
  auto env = env_of({{"DOCKER_CONFIG", config.path().string()}, {"DOCKER_HOST", "tcp://wrong:1"}});
  Endpoint endpoint = resolve_endpoint("remote-ctx", env);
  EXPECT_EQ(endpoint.kind, Endpoint::Kind::unix_socket);
  EXPECT_EQ(endpoint.socket_path, "/tmp/x.sock");
}

TEST(EngineResolveEndpoint, NamedContextWithTcpHost) {
  TempDir config;
  write_context(config.path(), kRemoteCtxHash, context_meta("remote-ctx", "tcp://10.1.2.3:2375"));
  Endpoint endpoint = resolve_endpoint("remote-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}}));
  EXPECT_EQ(endpoint.kind, Endpoint::Kind::tcp);
  EXPECT_EQ(endpoint.host_port, "10.1.2.3:2375");
}

TEST(EngineResolveEndpoint, NamedContextFromHomeWhenDockerConfigIsUnset) {
  TempDir home;
  write_context(home.path() / ".docker", kRemoteCtxHash, context_meta("remote-ctx", "unix:///tmp/home.sock"));
  Endpoint endpoint = resolve_endpoint("remote-ctx", env_of({{"HOME", home.path().string()}}));
  EXPECT_EQ(endpoint.socket_path, "/tmp/home.sock");
}

TEST(EngineResolveEndpoint, MissingContextIsUnreachable) {
  TempDir config;
  write_context(config.path(), kRemoteCtxHash, context_meta("remote-ctx", "unix:///tmp/x.sock"));
  Error e = thrown_by([&] {
    resolve_endpoint("no-such-context", env_of({{"DOCKER_CONFIG", config.path().string()}}));
  });
  EXPECT_EQ(e.code(), Exit::unreachable);
  EXPECT_TRUE(contains(e.what(), "no-such-context")) << e.what();
}

TEST(EngineResolveEndpoint, ContextWithoutDockerHostIsAnError) {
  TempDir config;
  write_context(config.path(), kRemoteCtxHash, R"({"Name":"remote-ctx","Endpoints":{}})");
  Error e = thrown_by([&] { resolve_endpoint("remote-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}})); });
  EXPECT_TRUE(contains(e.what(), "remote-ctx")) << e.what();

  write_context(config.path(), kRemoteCtxHash, "this is not json");
  Error garbage = thrown_by([&] {
    resolve_endpoint("remote-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}}));
  });
  EXPECT_TRUE(contains(garbage.what(), "remote-ctx")) << garbage.what();
}

TEST(EngineResolveEndpoint, ContextWithMalformedHostIsUsageError) {
  TempDir config;
  write_context(config.path(), kRemoteCtxHash, context_meta("remote-ctx", "gopher://x"));
  Error e = thrown_by([&] { resolve_endpoint("remote-ctx", env_of({{"DOCKER_CONFIG", config.path().string()}})); });
  EXPECT_EQ(e.code(), Exit::usage);
}

// ---------------------------------------------------------------------------
// Demuxer

struct Frame {
  std::uint8_t stream;
  std::string payload;
};

std::string frame_bytes(const std::vector<Frame>& frames) {
  std::string out;
  for (const auto& frame : frames) {
    auto size = static_cast<std::uint32_t>(frame.payload.size());
    out.push_back(static_cast<char>(frame.stream));
    out.append(3, '\0');
    out.push_back(static_cast<char>((size >> 24) & 0xffu));
    out.push_back(static_cast<char>((size >> 16) & 0xffu));
    out.push_back(static_cast<char>((size >> 8) & 0xffu));
    out.push_back(static_cast<char>(size & 0xffu));
    out += frame.payload;
  }
  return out;
}

// What the sink received, per stream, concatenated.
struct Collected {
  std::string in, out, err;
  int empty_calls = 0;
};

Demuxer::Sink collect_into(Collected& collected) {
  return [&collected](StreamType type, std::string_view data) {
    if (data.empty()) ++collected.empty_calls;
    switch (type) {
      case StreamType::stdin_: collected.in.append(data); break;
      case StreamType::stdout_: collected.out.append(data); break;
      case StreamType::stderr_: collected.err.append(data); break;
    }
  };
}

class EngineDemuxer : public ::testing::Test {
 protected:
  void SetUp() override {
    // Stream types interleaved, empty frames between and at both ends, a
    // payload containing bytes that look like headers, and a frame whose
    // length needs three length bytes.
    frames_ = {
        {1, ""},
        {1, "hello "},
        {2, "warning: x\n"},
        {1, ""},
        {2, ""},
        {1, std::string("\x01\x00\x00\x00\x00\x00\x00\x05world", 13)},
        {2, random_bytes(70000, 7)},
        {1, random_bytes(300, 8)},
        {0, "in"},
        {1, "!"},
        {2, ""},
    };
    stream_ = frame_bytes(frames_);
    for (const auto& frame : frames_) {
      if (frame.stream == 0) expected_.in += frame.payload;
      if (frame.stream == 1) expected_.out += frame.payload;
      if (frame.stream == 2) expected_.err += frame.payload;
    }
  }

  void expect_same(const Collected& got, const std::string& how) const {
    EXPECT_EQ(got.out, expected_.out) << how;
    EXPECT_EQ(got.err, expected_.err) << how;
    EXPECT_EQ(got.in, expected_.in) << how;
    EXPECT_EQ(got.empty_calls, 0) << how;
  }

  std::vector<Frame> frames_;
  std::string stream_;
  Collected expected_;
};

TEST_F(EngineDemuxer, WholeStreamAtOnce) {
  Collected got;
  Demuxer demuxer(collect_into(got));
  demuxer.feed(stream_);
  expect_same(got, "whole");
  EXPECT_TRUE(demuxer.at_frame_boundary());
}

TEST_F(EngineDemuxer, SplitAtEveryByteBoundary) {
  // Every cut of the stream without its one large frame (which would make
  // this quadratic test slow; the other tests cover it), then every cut
  // around the large frame's header and ends.
  std::vector<Frame> small;
  for (const auto& frame : frames_) {
    if (frame.payload.size() < 1000) small.push_back(frame);
  }
  const std::string small_stream = frame_bytes(small);
  Collected small_expected;
  for (const auto& frame : small) {
    if (frame.stream == 0) small_expected.in += frame.payload;
    if (frame.stream == 1) small_expected.out += frame.payload;
    if (frame.stream == 2) small_expected.err += frame.payload;
  }
  std::vector<std::pair<const std::string*, std::size_t>> cuts;
  for (std::size_t cut = 0; cut <= small_stream.size(); ++cut) cuts.emplace_back(&small_stream, cut);
  std::size_t frame_start = 0;
  for (const auto& frame : frames_) {
    const std::size_t frame_end = frame_start + 8 + frame.payload.size();
    if (frame.payload.size() >= 1000) {
      for (std::size_t cut = frame_start; cut <= frame_start + 10; ++cut) cuts.emplace_back(&stream_, cut);
      for (std::size_t cut = frame_end - 2; cut <= frame_end + 10; ++cut) cuts.emplace_back(&stream_, cut);
    }
    frame_start = frame_end;
  }
  for (const auto& [stream, cut] : cuts) {
    Collected got;
    Demuxer demuxer(collect_into(got));
    std::string_view all(*stream);
    demuxer.feed(all.substr(0, cut));
    demuxer.feed(all.substr(cut));
    if (stream == &small_stream) {
      EXPECT_EQ(got.out, small_expected.out) << "cut at " << cut;
      EXPECT_EQ(got.err, small_expected.err) << "cut at " << cut;
      EXPECT_EQ(got.in, small_expected.in) << "cut at " << cut;
    } else {
      expect_same(got, "cut at " + std::to_string(cut));
    }
    EXPECT_TRUE(demuxer.at_frame_boundary()) << "cut at " << cut;
    if (HasFailure()) return;
  }
}

TEST_F(EngineDemuxer, OneByteAtATime) {
  Collected got;
  Demuxer demuxer(collect_into(got));
  for (char c : stream_) demuxer.feed(std::string_view(&c, 1));
  expect_same(got, "byte by byte");
  EXPECT_TRUE(demuxer.at_frame_boundary());
}

TEST_F(EngineDemuxer, RandomChunkings) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::uniform_int_distribution<std::size_t> chunk_size(0, round % 2 == 0 ? 16 : 5000);
    Collected got;
    Demuxer demuxer(collect_into(got));
    std::string_view rest(stream_);
    while (!rest.empty()) {
      std::size_t take = std::min(rest.size(), chunk_size(rng));
      demuxer.feed(rest.substr(0, take));  // zero-sized feeds included
      rest.remove_prefix(take);
    }
    expect_same(got, "round " + std::to_string(round));
    EXPECT_TRUE(demuxer.at_frame_boundary());
    if (HasFailure()) return;
  }
}

TEST(EngineDemuxerBasics, ZeroLengthFramesDeliverNothing) {
  Collected got;
  int calls = 0;
  Demuxer demuxer([&](StreamType type, std::string_view data) {
    ++calls;
    collect_into(got)(type, data);
  });
  demuxer.feed(frame_bytes({{1, ""}, {2, ""}, {1, ""}}));
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(demuxer.at_frame_boundary());
  EXPECT_TRUE(got.out.empty());
  EXPECT_TRUE(got.err.empty());
}

TEST(EngineDemuxerBasics, PayloadIsPassedOnBeforeTheFrameIsComplete) {
  Collected got;
  Demuxer demuxer(collect_into(got));
  std::string stream = frame_bytes({{1, "abcdef"}});
  demuxer.feed(std::string_view(stream).substr(0, 8 + 3));
  EXPECT_EQ(got.out, "abc");
  EXPECT_FALSE(demuxer.at_frame_boundary());
  demuxer.feed(std::string_view(stream).substr(8 + 3));
  EXPECT_EQ(got.out, "abcdef");
  EXPECT_TRUE(demuxer.at_frame_boundary());
}

TEST(EngineDemuxerBasics, PartialHeaderIsNotAFrameBoundary) {
  Collected got;
  Demuxer demuxer(collect_into(got));
  EXPECT_TRUE(demuxer.at_frame_boundary());
  demuxer.feed(std::string("\x01\x00\x00", 3));
  EXPECT_FALSE(demuxer.at_frame_boundary());
}

TEST(EngineDemuxerBasics, MalformedHeaderThrows) {
  const std::vector<std::string> bad_headers = {
      std::string("\x03\x00\x00\x00\x00\x00\x00\x01", 8),  // unknown stream type
      std::string("\xff\x00\x00\x00\x00\x00\x00\x01", 8),
      std::string("\x01\x01\x00\x00\x00\x00\x00\x01", 8),  // padding not zero
      std::string("\x01\x00\x01\x00\x00\x00\x00\x01", 8),
      std::string("\x02\x00\x00\x01\x00\x00\x00\x01", 8),
      std::string("HTTP/1.1 200 OK\r\n"),  // not a multiplexed stream at all
  };
  for (const auto& header : bad_headers) {
    Collected got;
    Demuxer demuxer(collect_into(got));
    EXPECT_THROW(demuxer.feed(header), Error);
  }
  // Also when the bad header follows a good frame and arrives byte by byte.
  Collected got;
  Demuxer demuxer(collect_into(got));
  std::string stream = frame_bytes({{1, "ok"}}) + bad_headers[0];
  EXPECT_THROW(
      {
        for (char c : stream) demuxer.feed(std::string_view(&c, 1));
      },
      Error);
  EXPECT_EQ(got.out, "ok");
}

// ---------------------------------------------------------------------------
// daemon_message (url_encode is tested with the curl layer: test_curl.cpp)

TEST(EngineDaemonMessage, ExtractsTheMessageField) {
  EXPECT_EQ(daemon_message(R"({"message":"No such volume: data"})"), "No such volume: data");
  EXPECT_EQ(daemon_message("{\"message\": \"conflict\", \"other\": 1}\n"), "conflict");
}

TEST(EngineDaemonMessage, FallsBackToTheBody) {
  EXPECT_EQ(daemon_message("page not found\n"), "page not found");
  EXPECT_EQ(daemon_message("plain\r\n"), "plain");
  EXPECT_EQ(daemon_message(R"({"error":"x"})"), R"({"error":"x"})");
  EXPECT_EQ(daemon_message(R"({"message":42})"), R"({"message":42})");
  EXPECT_EQ(daemon_message(R"(["message"])"), R"(["message"])");
  EXPECT_EQ(daemon_message("{\"message\": tru"), "{\"message\": tru");
}

TEST(EngineDaemonMessage, EmptyBodyGivesAPlaceholder) {
  EXPECT_FALSE(daemon_message("").empty());
  EXPECT_FALSE(daemon_message("\n").empty());
}

}  // namespace
}  // namespace dockform::engine
