#pragma once
// Typed calls to the Docker Engine API. Knows containers, volumes, networks
// and images; nothing about snapshots.
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dockform/engine/http.hpp"

namespace dockform::engine {

using json = nlohmann::json;
using Labels = std::map<std::string, std::string>;

struct VolumeInfo {
  std::string name;
  std::string driver;
  std::string mountpoint;
  Labels options;
  Labels labels;
};

struct ContainerInfo {
  std::string id;
  std::string name;   // without the leading slash
  std::string state;  // running, exited, created, paused, ...
  Labels labels;
  bool running() const { return state == "running" || state == "paused" || state == "restarting"; }
};

class Engine {
 public:
  // Pings the endpoint and negotiates the API version. Throws
  // Error(Exit::unreachable) naming the endpoint when nothing answers.
  static std::unique_ptr<Engine> connect(const Endpoint& endpoint);

  const Endpoint& endpoint() const { return http_.endpoint(); }
  const std::string& api_version() const { return api_version_; }

  json version();

  std::optional<VolumeInfo> volume_inspect(const std::string& name);
  std::vector<VolumeInfo> volume_list();
  void volume_create(const std::string& name, const std::string& driver, const Labels& options, const Labels& labels);
  // Removes an unused volume; gone already is no error.
  void volume_remove(const std::string& name);

  json network_list();
  void network_create(const std::string& name, const std::string& driver, const Labels& options, const Labels& labels);

  // filters as the API takes them, e.g. {{"volume", {"data"}}, {"label", {"a=b"}}}.
  std::vector<ContainerInfo> container_list(bool all, const std::map<std::string, std::vector<std::string>>& filters);
  std::optional<json> container_inspect(const std::string& id);
  std::string container_create(const json& config, const std::string& name = "");
  void container_start(const std::string& id);
  // Without a timeout the engine uses the container's own (docker run
  // --stop-timeout, Compose's stop_grace_period), as `docker stop` does.
  void container_stop(const std::string& id, std::optional<int> timeout_seconds);
  void container_kill(const std::string& id);
  // Waits for the container to stop; returns its exit code. Throws when it
  // still runs after `limit` (a helper stuck on a hung file system), and,
  // when `interruptible`, ends with util::Interrupted on SIGINT, SIGTERM or
  // SIGHUP (a cleanup's wait is not: it runs after such a signal).
  int container_wait(const std::string& id, std::chrono::seconds limit, bool interruptible);
  // Force-removes; a container already gone is not an error.
  void container_remove(const std::string& id);
  // Attaches stdout+stderr (and stdin when asked) on a raw connection.
  // Attach before starting the container so no output is lost.
  std::unique_ptr<RawConnection> container_attach(const std::string& id, bool with_stdin);

  // Exec (src/engine/exec.cpp): a command in a running container, run as the
  // container's own user; start attaches stdout+stderr (multiplexed), and
  // stdin when asked (half-closing the connection ends the exec's input).
  std::string exec_create(const std::string& container, const std::vector<std::string>& cmd, bool with_stdin = false);
  std::unique_ptr<RawConnection> exec_start(const std::string& exec_id);
  // Whether it still runs, and its exit code once it ended.
  struct ExecState {
    bool running = false;
    int exit_code = -1;
  };
  ExecState exec_inspect(const std::string& exec_id);

  bool image_exists(const std::string& reference);
  // Creates image repo:tag from a root filesystem given as a tar (no
  // registry involved: POST /images/create?fromSrc=-).
  void image_import(const std::string& repo, const std::string& tag, const std::string& rootfs_tar);
  // Unpacks a tar into a container's filesystem under `path` (created or
  // stopped containers too: PUT /containers/{id}/archive).
  void container_put_archive(const std::string& id, const std::string& path, const std::string& tar);
  // Pulls; `on_status` receives each progress message ("Downloading 12 MB/30 MB").
  void image_pull(const std::string& reference, const std::function<void(const std::string&)>& on_status);

 private:
  explicit Engine(const Endpoint& endpoint) : http_(endpoint) {}
  Response call(const std::string& method, const std::string& path, const json& body = nullptr);
  // The same with a body of another type (a tar) and its own timeout.
  Response call_with(const std::string& method, const std::string& path, const std::string& body,
                     const std::string& content_type, std::chrono::milliseconds timeout);
  // Throws EngineError with the daemon's message unless status is 2xx/304.
  static void expect_ok(const Response& response, const std::string& what);
  std::string path(const std::string& rest) const { return "/v" + api_version_ + rest; }

  HttpClient http_;
  std::string api_version_ = "1.41";
};

}  // namespace dockform::engine
