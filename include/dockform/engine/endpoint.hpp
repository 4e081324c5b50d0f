#pragma once
// Where the Docker Engine listens: the manifest's docker.context, resolved
// like the docker CLI does.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace dockform::engine {

struct Endpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string socket_path;  // unix
  std::string host_port;    // tcp: "host:port"
  std::string url;          // as given, for messages

  // The base URL libcurl is given: the host part is ignored for unix sockets.
  std::string http_base() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// "unix:///path", "tcp://host:port" (also "http://"). Throws Error(usage) otherwise.
Endpoint parse_endpoint(const std::string& url);

// "default" (or empty) -> DOCKER_HOST, else unix:///var/run/docker.sock.
// Another name -> the Docker CLI context store under DOCKER_CONFIG or ~/.docker:
// contexts/meta/<sha256 of the name>/meta.json, Endpoints.docker.Host.
Endpoint resolve_endpoint(const std::string& context, const EnvLookup& env);

}  // namespace dockform::engine
