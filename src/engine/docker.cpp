#include "dockform/engine/docker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "dockform/engine/compat.hpp"
#include "dockform/util/curl.hpp"

namespace dockform::engine {

namespace {
// The newest API version this client speaks; older daemons are met at theirs.
constexpr const char* kMaxApiVersion = "1.43";
constexpr const char* kMinApiVersion = "1.25";

bool version_less(const std::string& a, const std::string& b) {
  int a_major = 0, a_minor = 0, b_major = 0, b_minor = 0;
  std::sscanf(a.c_str(), "%d.%d", &a_major, &a_minor);
  std::sscanf(b.c_str(), "%d.%d", &b_major, &b_minor);
  return a_major != b_major ? a_major < b_major : a_minor < b_minor;
}

Labels string_map(const json& value) {
  Labels out;
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) out[key] = item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

VolumeInfo volume_from_json(const json& value) {
  VolumeInfo info;
  info.name = value.value("Name", "");
  info.driver = value.value("Driver", "");
  info.mountpoint = value.value("Mountpoint", "");
  info.options = string_map(value.value("Options", json::object()));
  info.labels = string_map(value.value("Labels", json::object()));
  return info;
}
}  // namespace

std::unique_ptr<Engine> Engine::connect(const Endpoint& endpoint) {
  std::unique_ptr<Engine> engine(new Engine(endpoint));
  // ssh has its own 30 s connect timeout, plus the login and the remote docker start.
  auto timeout = endpoint.kind == Endpoint::Kind::ssh ? std::chrono::seconds(45) : std::chrono::seconds(10);
  auto response = engine->http_.request("GET", "/_ping", "", timeout);
  if (response.status != 200) {
    throw Error("the Docker Engine at " + endpoint.url + " answered /_ping with HTTP " +
                    std::to_string(response.status) + ": " + daemon_message(response.body),
                Exit::unreachable);
  }
  std::string server = response.headers.count("api-version") ? response.headers["api-version"] : "1.41";
  if (version_less(server, kMinApiVersion)) {
    throw Error("the Docker Engine at " + endpoint.url + " speaks API " + server + "; at least " + kMinApiVersion +
                " is needed");
  }
  engine->api_version_ = version_less(server, kMaxApiVersion) ? server : kMaxApiVersion;
  spdlog::debug("engine {} API version {}", endpoint.url, engine->api_version_);
  return engine;
}

Response Engine::call(const std::string& method, const std::string& rest, const json& body) {
  auto response = http_.request(method, path(rest), body.is_null() ? std::string() : body.dump());
  response.status = docker_status(response.status, response.body);
  return response;
}

Response Engine::call_with(const std::string& method, const std::string& rest, const std::string& body,
                           const std::string& content_type, std::chrono::milliseconds timeout) {
  auto response = http_.request_with(method, path(rest), body, content_type, timeout);
  response.status = docker_status(response.status, response.body);
  return response;
}

void Engine::expect_ok(const Response& response, const std::string& what) {
  if ((response.status >= 200 && response.status < 300) || response.status == 304) return;
  throw EngineError(response.status, what + ": " + daemon_message(response.body));
}

json Engine::version() {
  auto response = call("GET", "/version");
  expect_ok(response, "engine version");
  return json::parse(response.body);
}

std::optional<VolumeInfo> Engine::volume_inspect(const std::string& name) {
  auto response = call("GET", "/volumes/" + util::url_encode(name));
  if (response.status == 404) return std::nullopt;
  expect_ok(response, "inspect volume " + name);
  return volume_from_json(json::parse(response.body));
}

std::vector<VolumeInfo> Engine::volume_list() {
  auto response = call("GET", "/volumes");
  expect_ok(response, "list volumes");
  std::vector<VolumeInfo> out;
  auto body = json::parse(response.body);
  if (body.contains("Volumes") && body["Volumes"].is_array()) {
    for (const auto& item : body["Volumes"]) out.push_back(volume_from_json(item));
  }
  return out;
}

void Engine::volume_create(const std::string& name, const std::string& driver, const Labels& options,
                           const Labels& labels) {
  json body = {{"Name", name}, {"Driver", driver}, {"DriverOpts", options}, {"Labels", labels}};
  expect_ok(call("POST", "/volumes/create", body), "create volume " + name);
}

void Engine::volume_remove(const std::string& name) {
  auto response = call("DELETE", "/volumes/" + util::url_encode(name));
  if (response.status == 404) return;
  expect_ok(response, "remove volume " + name);
}

json Engine::network_list() {
  auto response = call("GET", "/networks");
  expect_ok(response, "list networks");
  return json::parse(response.body);
}

void Engine::network_create(const std::string& name, const std::string& driver, const Labels& options,
                            const Labels& labels) {
  json body = {{"Name", name}, {"Driver", driver}, {"Options", options}, {"Labels", labels}, {"CheckDuplicate", true}};
  expect_ok(call("POST", "/networks/create", body), "create network " + name);
}

std::vector<ContainerInfo> Engine::container_list(bool all,
                                                  const std::map<std::string, std::vector<std::string>>& filters) {
  std::string query = "/containers/json?all=" + std::string(all ? "1" : "0");
  if (!filters.empty()) query += "&filters=" + util::url_encode(json(filters).dump());
  auto response = call("GET", query);
  expect_ok(response, "list containers");
  std::vector<ContainerInfo> out;
  auto label_filters = filters.find("label");
  for (const auto& item : json::parse(response.body)) {
    ContainerInfo info;
    info.id = item.value("Id", "");
    if (item.contains("Names") && item["Names"].is_array() && !item["Names"].empty()) {
      info.name = item["Names"][0].get<std::string>();
      if (!info.name.empty() && info.name[0] == '/') info.name.erase(0, 1);
    }
    info.state = docker_state(item.value("State", ""));
    info.labels = string_map(item.value("Labels", json::object()));
    if (label_filters != filters.end() && !matches_label_filters(info.labels, label_filters->second)) continue;
    out.push_back(std::move(info));
  }
  return out;
}

std::optional<json> Engine::container_inspect(const std::string& id) {
  auto response = call("GET", "/containers/" + util::url_encode(id) + "/json");
  if (response.status == 404) return std::nullopt;
  expect_ok(response, "inspect container " + id);
  return json::parse(response.body);
}

std::string Engine::container_create(const json& config, const std::string& name) {
  std::string query = "/containers/create";
  if (!name.empty()) query += "?name=" + util::url_encode(name);
  auto response = call("POST", query, config);
  expect_ok(response, "create container");
  return json::parse(response.body).at("Id").get<std::string>();
}

void Engine::container_start(const std::string& id) {
  expect_ok(call("POST", "/containers/" + util::url_encode(id) + "/start"), "start container " + id);
}

void Engine::container_stop(const std::string& id, std::optional<int> timeout_seconds) {
  std::string query = "/containers/" + util::url_encode(id) + "/stop";
  int grace = 10;  // the engine's default when the container sets none
  if (timeout_seconds) {
    query += "?t=" + std::to_string(*timeout_seconds);
    grace = *timeout_seconds;
  } else if (auto inspected = container_inspect(id)) {
    const auto& config = (*inspected)["Config"];
    if (config.is_object() && config.contains("StopTimeout") && config["StopTimeout"].is_number()) {
      grace = config["StopTimeout"].get<int>();
    }
  }
  // The call returns once the container stopped: wait for its grace period and then some.
  auto response = http_.request("POST", path(query), "", std::chrono::seconds(std::max(grace, 0) + 60));
  expect_ok(response, "stop container " + id);
}

void Engine::container_kill(const std::string& id) {
  auto response = call("POST", "/containers/" + util::url_encode(id) + "/kill");
  if (response.status == 404 || response.status == 409) return;  // gone or not running
  expect_ok(response, "kill container " + id);
}

int Engine::container_wait(const std::string& id, std::chrono::seconds limit, bool interruptible) {
  std::string body;
  std::string error;
  long status = 0;
  try {
    status = http_.stream(
        "POST", path("/containers/" + util::url_encode(id) + "/wait"), "",
        [&](std::string_view chunk) { body.append(chunk); }, &error, interruptible, limit);
  } catch (const StreamTimeout&) {
    throw Error("container " + id.substr(0, 12) + " still runs " + std::to_string(limit.count()) +
                " s after it was expected to end");
  }
  if (status != 200) throw EngineError(status, "wait for container " + id + ": " + daemon_message(error));
  return json::parse(body).value("StatusCode", -1);
}

void Engine::container_remove(const std::string& id) {
  // A forced remove still answers 409 while the container is between states:
  // dockerd while another removal runs, Podman while an exited container is
  // being cleaned up ("could not be stopped ... container state improper").
  // Both pass within moments, or seconds on a loaded host: retry for up to 30 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Response response;
  for (;;) {
    response = call("DELETE", "/containers/" + util::url_encode(id) + "?force=1&v=0");
    if (response.status == 404) return;
    if (response.status != 409 || std::chrono::steady_clock::now() > deadline) break;
    // The engine is already removing it (an AutoRemove helper that just exited): it is going away.
    if (daemon_message(response.body).find("already in progress") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  expect_ok(response, "remove container " + id);
}

std::unique_ptr<RawConnection> Engine::container_attach(const std::string& id, bool with_stdin) {
  std::string query = "/containers/" + util::url_encode(id) + "/attach?stream=1&stdout=1&stderr=1";
  if (with_stdin) query += "&stdin=1";
  return http_.hijack("POST", path(query), "");
}

bool Engine::image_exists(const std::string& reference) {
  auto response = call("GET", "/images/" + util::url_encode(reference) + "/json");
  if (response.status == 404) return false;
  expect_ok(response, "inspect image " + reference);
  return true;
}

void Engine::image_import(const std::string& repo, const std::string& tag, const std::string& rootfs_tar) {
  // The tag goes inside `repo`: Podman 4.3 ignores the `tag` parameter of an
  // import (the image came out as :latest); dockerd reads both forms.
  auto response = call_with("POST", "/images/create?fromSrc=-&repo=" + util::url_encode(repo + ":" + tag), rootfs_tar,
                            "application/x-tar", std::chrono::minutes(5));
  expect_ok(response, "import image " + repo + ":" + tag);
  // The daemon answers 200 and then reports a failure in the progress stream.
  for (std::size_t at = 0; at < response.body.size();) {
    auto end = response.body.find('\n', at);
    if (end == std::string::npos) end = response.body.size();
    auto message = json::parse(response.body.substr(at, end - at), nullptr, false);
    if (message.is_object() && message.contains("error")) {
      throw EngineError(500, "import image " + repo + ":" + tag + ": " + message.value("error", "failed"));
    }
    at = end + 1;
  }
}

void Engine::container_put_archive(const std::string& id, const std::string& where, const std::string& tar) {
  auto response = call_with("PUT", "/containers/" + util::url_encode(id) + "/archive?path=" + util::url_encode(where),
                            tar, "application/x-tar", std::chrono::minutes(2));
  expect_ok(response, "copy into container " + id.substr(0, 12));
}

void Engine::image_pull(const std::string& reference, const std::function<void(const std::string&)>& on_status) {
  std::string image = reference;
  std::string tag = "latest";
  // A tag is the part after the last ':' that comes after the last '/'.
  auto slash = reference.rfind('/');
  auto colon = reference.rfind(':');
  if (auto at = reference.find('@'); at != std::string::npos) {
    image = reference.substr(0, at);
    tag = reference.substr(at + 1);
  } else if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    image = reference.substr(0, colon);
    tag = reference.substr(colon + 1);
  }
  std::string pending;
  std::string failure;
  std::string error_body;
  auto on_data = [&](std::string_view chunk) {
    pending.append(chunk);
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      auto message = json::parse(line, nullptr, false);
      if (message.is_discarded() || !message.is_object()) continue;
      if (message.contains("error")) {
        failure = message.value("error", "pull failed");
      } else if (on_status) {
        std::string status = message.value("status", "");
        if (message.contains("progress") && message["progress"].is_string())
          status += " " + message["progress"].get<std::string>();
        on_status(status);
      }
    }
  };
  long status = http_.stream(
      "POST", path("/images/create?fromImage=" + util::url_encode(image) + "&tag=" + util::url_encode(tag)), "",
      on_data, &error_body);
  if (status != 200) throw EngineError(status, "pull " + reference + ": " + daemon_message(error_body));
  if (!failure.empty()) throw EngineError(500, "pull " + reference + ": " + failure);
}

}  // namespace dockform::engine
