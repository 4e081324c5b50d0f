#pragma once
// Where the Docker Engine listens, chosen exactly as the Docker CLI chooses it,
// and how to reach it: a Unix socket, plain tcp, tcp with
// TLS, or ssh running `docker system dial-stdio` on the remote host.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace dockform::engine {

// TLS material for tcp endpoints. Empty paths mean "not given".
struct TlsSettings {
  bool enabled = false;
  bool verify = true;  // false: DOCKER_TLS without DOCKER_TLS_VERIFY, or SkipTLSVerify
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct Endpoint {
  enum class Kind { unix_socket, tcp, ssh };
  Kind kind = Kind::unix_socket;
  std::string socket_path;  // unix; ssh: the remote socket path, empty for the remote default
  std::string host_port;    // tcp: "host:port"
  std::string ssh_user;     // ssh: empty when not in the URL
  std::string ssh_host;
  std::string ssh_port;  // ssh: empty when not in the URL
  TlsSettings tls;
  std::string url;                  // as given, for messages
  std::string context = "default";  // the Docker CLI context it came from
  std::string source = "default";   // why this endpoint: see resolve_endpoint

  // The base URL libcurl is given: the host part is ignored for unix sockets and ssh.
  std::string http_base() const;
  // "unix", "tcp", "tcp+tls" or "ssh".
  std::string transport() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// "unix:///path", "tcp://host[:port]" (also "http://"), "ssh://[user@]host[:port][/socket]".
// Throws Error(usage) otherwise. TLS is not decided here (see resolve_endpoint).
Endpoint parse_endpoint(const std::string& url);

// The endpoint `docker` would use.
//   context empty: plain `docker` (a manifest without docker.context):
//     DOCKER_HOST (source "DOCKER_HOST"), else DOCKER_CONTEXT (source
//     "DOCKER_CONTEXT"), else currentContext of $DOCKER_CONFIG/config.json
//     (source "current context"), else unix:///var/run/docker.sock ("default").
//   context "default": `docker --context default`: DOCKER_HOST or the standard
//     socket; DOCKER_CONTEXT and currentContext are not consulted.
//   another name: `docker --context NAME`, from the CLI's context store:
//     contexts/meta/<sha256 of name>/meta.json and contexts/tls/<sha256>/docker/.
// DOCKER_HOST on tcp takes TLS from DOCKER_TLS_VERIFY / DOCKER_TLS /
// DOCKER_CERT_PATH (default: the Docker config folder) as the CLI does.
// Certificate files are checked when connecting, not here.
Endpoint resolve_endpoint(const std::string& context, const EnvLookup& env);

// $DOCKER_CONFIG, else $HOME/.docker.
std::filesystem::path docker_config_dir(const EnvLookup& env);

}  // namespace dockform::engine
