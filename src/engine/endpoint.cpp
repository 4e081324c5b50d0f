#include "dockform/engine/endpoint.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::engine {

namespace {
bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::filesystem::path docker_config_dir(const EnvLookup& env) {
  if (auto dir = env("DOCKER_CONFIG"); dir && !dir->empty()) return *dir;
  auto home = env("HOME");
  return std::filesystem::path(home ? *home : "/root") / ".docker";
}
}  // namespace

std::string Endpoint::http_base() const {
  return kind == Kind::unix_socket ? std::string("http://docker") : "http://" + host_port;
}

Endpoint parse_endpoint(const std::string& url) {
  Endpoint endpoint;
  endpoint.url = url;
  if (starts_with(url, "unix://")) {
    endpoint.kind = Endpoint::Kind::unix_socket;
    endpoint.socket_path = url.substr(7);
    if (endpoint.socket_path.empty()) throw Error("empty socket path in engine endpoint '" + url + "'", Exit::usage);
    return endpoint;
  }
  for (const char* scheme : {"tcp://", "http://"}) {
    if (starts_with(url, scheme)) {
      endpoint.kind = Endpoint::Kind::tcp;
      endpoint.host_port = url.substr(std::string(scheme).size());
      if (auto slash = endpoint.host_port.find('/'); slash != std::string::npos) endpoint.host_port.resize(slash);
      if (endpoint.host_port.empty()) throw Error("empty host in engine endpoint '" + url + "'", Exit::usage);
      return endpoint;
    }
  }
  throw Error("unsupported engine endpoint '" + url + "' (expected unix:///path or tcp://host:port)", Exit::usage);
}

Endpoint resolve_endpoint(const std::string& context, const EnvLookup& env) {
  if (context.empty() || context == "default") {
    auto host = env("DOCKER_HOST");
    return parse_endpoint(host && !host->empty() ? *host : "unix:///var/run/docker.sock");
  }
  auto meta = docker_config_dir(env) / "contexts" / "meta" / util::sha256_hex(context) / "meta.json";
  std::ifstream in(meta);
  if (!in) {
    throw Error("Docker context '" + context + "' not found (looked for " + meta.string() + ")", Exit::unreachable);
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto json = nlohmann::json::parse(text.str());
    return parse_endpoint(json.at("Endpoints").at("docker").at("Host").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw Error("Docker context '" + context + "': cannot read " + meta.string() + ": " + e.what());
  }
}

}  // namespace dockform::engine
