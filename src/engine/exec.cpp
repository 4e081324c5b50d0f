// Engine exec calls: a command run inside a container that already runs
// (snapshot hooks). Kept apart from docker.cpp, which holds the rest.
#include "dockform/engine/docker.hpp"

#include "dockform/util/curl.hpp"

namespace dockform::engine {

std::string Engine::exec_create(const std::string& container, const std::vector<std::string>& cmd, bool with_stdin) {
  // No "User": the exec runs as the container's own configured user.
  json body = {
      {"AttachStdin", with_stdin}, {"AttachStdout", true}, {"AttachStderr", true}, {"Tty", false}, {"Cmd", cmd}};
  auto response = call("POST", "/containers/" + util::url_encode(container) + "/exec", body);
  expect_ok(response, "exec in container " + container);
  return json::parse(response.body).at("Id").get<std::string>();
}

std::unique_ptr<RawConnection> Engine::exec_start(const std::string& exec_id) {
  json body = {{"Detach", false}, {"Tty", false}};
  return http_.hijack("POST", path("/exec/" + util::url_encode(exec_id) + "/start"), body.dump());
}

Engine::ExecState Engine::exec_inspect(const std::string& exec_id) {
  auto response = call("GET", "/exec/" + util::url_encode(exec_id) + "/json");
  expect_ok(response, "inspect exec " + exec_id);
  auto body = json::parse(response.body);
  ExecState state;
  state.running = body.value("Running", false);
  if (body.contains("ExitCode") && body["ExitCode"].is_number()) state.exit_code = body["ExitCode"].get<int>();
  return state;
}

}  // namespace dockform::engine
