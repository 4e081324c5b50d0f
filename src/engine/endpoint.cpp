#include "dockform/engine/endpoint.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dockform/util/error.hpp"
#include "dockform/util/sha256.hpp"

namespace dockform::engine {

namespace {
namespace fs = std::filesystem;

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// The CLI treats any non-empty value of DOCKER_TLS_VERIFY / DOCKER_TLS as "on".
std::optional<std::string> non_empty(const EnvLookup& env, const std::string& name) {
  auto value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

[[noreturn]] void bad_url(const std::string& url, const std::string& why) {
  throw Error("invalid engine endpoint '" + url + "': " + why, Exit::usage);
}

// ssh://[user@]host[:port][/socket], as the Docker CLI's ssh helper reads it.
Endpoint parse_ssh(const std::string& url) {
  Endpoint endpoint;
  endpoint.kind = Endpoint::Kind::ssh;
  endpoint.url = url;
  std::string rest = url.substr(6);
  if (rest.find_first_of("?#") != std::string::npos) bad_url(url, "ssh endpoints take no query or fragment");
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    endpoint.socket_path = rest.substr(slash);
    if (endpoint.socket_path == "/") endpoint.socket_path.clear();
    rest.resize(slash);
  }
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    endpoint.ssh_user = rest.substr(0, at);
    if (endpoint.ssh_user.find(':') != std::string::npos) bad_url(url, "ssh endpoints take no password");
    rest.erase(0, at + 1);
  }
  // [v6::addr]:port, or host:port
  if (starts_with(rest, "[")) {
    auto close = rest.find(']');
    if (close == std::string::npos) bad_url(url, "unclosed '['");
    endpoint.ssh_host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') endpoint.ssh_port = rest.substr(close + 2);
  } else if (auto colon = rest.find(':'); colon != std::string::npos) {
    endpoint.ssh_host = rest.substr(0, colon);
    endpoint.ssh_port = rest.substr(colon + 1);
  } else {
    endpoint.ssh_host = rest;
  }
  if (endpoint.ssh_host.empty()) bad_url(url, "no host");
  if (!endpoint.ssh_port.empty() && endpoint.ssh_port.find_first_not_of("0123456789") != std::string::npos) {
    bad_url(url, "the port must be a number");
  }
  if (!endpoint.ssh_user.empty() && endpoint.ssh_user.front() == '-') bad_url(url, "bad user name");
  if (endpoint.ssh_host.front() == '-') bad_url(url, "bad host name");
  return endpoint;
}

// A tcp host without a port gets the CLI's default: 2376 with TLS, else 2375.
void default_tcp_port(Endpoint& endpoint) {
  if (endpoint.kind != Endpoint::Kind::tcp) return;
  const std::string& hp = endpoint.host_port;
  bool has_port = starts_with(hp, "[") ? hp.find("]:") != std::string::npos : hp.find(':') != std::string::npos;
  if (!has_port) endpoint.host_port += endpoint.tls.enabled ? ":2376" : ":2375";
}

// DOCKER_HOST (or the standard socket) with the TLS environment variables.
Endpoint from_environment(const EnvLookup& env) {
  auto host = non_empty(env, "DOCKER_HOST");
  Endpoint endpoint = parse_endpoint(host ? *host : "unix:///var/run/docker.sock");
  endpoint.source = host ? "DOCKER_HOST" : "default";
  bool verify = non_empty(env, "DOCKER_TLS_VERIFY").has_value();
  if (endpoint.kind == Endpoint::Kind::tcp && (verify || non_empty(env, "DOCKER_TLS"))) {
    auto cert_path = non_empty(env, "DOCKER_CERT_PATH");
    fs::path dir = cert_path ? fs::path(*cert_path) : docker_config_dir(env);
    endpoint.tls.enabled = true;
    endpoint.tls.verify = verify;
    // The CA is only read when verifying; a missing client pair is simply not sent.
    if (verify) endpoint.tls.ca_file = (dir / "ca.pem").string();
    if (fs::exists(dir / "cert.pem")) endpoint.tls.cert_file = (dir / "cert.pem").string();
    if (fs::exists(dir / "key.pem")) endpoint.tls.key_file = (dir / "key.pem").string();
  }
  default_tcp_port(endpoint);
  return endpoint;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A named context from the CLI's store.
Endpoint from_store(const std::string& context, const EnvLookup& env) {
  std::string id = util::sha256_hex(context);
  fs::path config = docker_config_dir(env);
  fs::path meta = config / "contexts" / "meta" / id / "meta.json";
  if (!fs::exists(meta)) {
    throw Error("Docker context '" + context + "' not found (looked for " + meta.string() + ")", Exit::unreachable);
  }
  Endpoint endpoint;
  bool skip_verify = false;
  try {
    auto docker = nlohmann::json::parse(read_text(meta)).at("Endpoints").at("docker");
    endpoint = parse_endpoint(docker.at("Host").get<std::string>());
    skip_verify = docker.value("SkipTLSVerify", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error("Docker context '" + context + "': cannot read " + meta.string() + ": " + e.what(), Exit::unreachable);
  }
  fs::path tls = config / "contexts" / "tls" / id / "docker";
  auto file = [&](const char* name) { return fs::exists(tls / name) ? (tls / name).string() : std::string(); };
  if (endpoint.kind == Endpoint::Kind::tcp) {
    endpoint.tls.ca_file = file("ca.pem");
    endpoint.tls.cert_file = file("cert.pem");
    endpoint.tls.key_file = file("key.pem");
    bool has_files = !endpoint.tls.ca_file.empty() || !endpoint.tls.cert_file.empty() || !endpoint.tls.key_file.empty();
    endpoint.tls.enabled = has_files || skip_verify;
    endpoint.tls.verify = !skip_verify;
  }
  default_tcp_port(endpoint);
  endpoint.context = context;
  endpoint.source = "context " + context;
  return endpoint;
}

// currentContext of config.json; empty when absent.
std::string current_context(const EnvLookup& env) {
  fs::path file = docker_config_dir(env) / "config.json";
  if (!fs::exists(file)) return "";
  try {
    auto json = nlohmann::json::parse(read_text(file));
    return json.is_object() ? json.value("currentContext", "") : "";
  } catch (const nlohmann::json::exception& e) {
    throw Error("cannot read the Docker CLI configuration " + file.string() + ": " + e.what(), Exit::unreachable);
  }
}
}  // namespace

fs::path docker_config_dir(const EnvLookup& env) {
  if (auto dir = non_empty(env, "DOCKER_CONFIG")) return *dir;
  auto home = env("HOME");
  return fs::path(home ? *home : "/root") / ".docker";
}

std::string Endpoint::http_base() const {
  if (kind == Kind::tcp) return (tls.enabled ? "https://" : "http://") + host_port;
  // ssh: libcurl is handed an already connected socket; the numeric address
  // keeps it from resolving anything.
  return kind == Kind::ssh ? std::string("http://127.0.0.1") : std::string("http://docker");
}

std::string Endpoint::transport() const {
  switch (kind) {
    case Kind::unix_socket: return "unix";
    case Kind::tcp: return tls.enabled ? "tcp+tls" : "tcp";
    case Kind::ssh: return "ssh";
  }
  return "?";
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
  if (starts_with(url, "ssh://")) return parse_ssh(url);
  for (const char* scheme : {"tcp://", "http://"}) {
    if (starts_with(url, scheme)) {
      endpoint.kind = Endpoint::Kind::tcp;
      endpoint.host_port = url.substr(std::string(scheme).size());
      if (auto slash = endpoint.host_port.find('/'); slash != std::string::npos) endpoint.host_port.resize(slash);
      if (endpoint.host_port.empty()) throw Error("empty host in engine endpoint '" + url + "'", Exit::usage);
      return endpoint;
    }
  }
  throw Error("unsupported engine endpoint '" + url +
                  "' (expected unix:///path, tcp://host:port or ssh://[user@]host[:port][/socket])",
              Exit::usage);
}

Endpoint resolve_endpoint(const std::string& context, const EnvLookup& env) {
  if (context == "default") return from_environment(env);
  if (!context.empty()) return from_store(context, env);
  // Plain `docker`: DOCKER_HOST wins over any context.
  if (non_empty(env, "DOCKER_HOST")) return from_environment(env);
  std::string name;
  std::string source;
  if (auto from_env = non_empty(env, "DOCKER_CONTEXT")) {
    name = *from_env;
    source = "DOCKER_CONTEXT";
  } else {
    name = current_context(env);
    source = "current context";
  }
  if (name.empty() || name == "default") return from_environment(env);
  Endpoint endpoint = from_store(name, env);
  endpoint.source = source + " " + name;
  return endpoint;
}

}  // namespace dockform::engine
