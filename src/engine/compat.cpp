#include "dockform/engine/compat.hpp"

#include <nlohmann/json.hpp>

namespace dockform::engine {

std::string docker_state(const std::string& state) {
  if (state == "configured") return "created";  // created, never initialised
  if (state == "stopped") return "exited";      // exited, cleanup still pending
  if (state == "stopping") return "running";    // still has to be stopped and waited for
  return state;
}

bool matches_label_filters(const std::map<std::string, std::string>& labels, const std::vector<std::string>& filters) {
  for (const auto& filter : filters) {
    auto equals = filter.find('=');
    auto found = labels.find(filter.substr(0, equals));
    if (found == labels.end()) return false;
    if (equals != std::string::npos && found->second != filter.substr(equals + 1)) return false;
  }
  return true;
}

long docker_status(long status, const std::string& body) {
  if (status != 500) return status;
  auto error = nlohmann::json::parse(body, nullptr, false);
  if (!error.is_object()) return status;
  // dockerd 20.10 loses the Conflict type when a forced remove races the
  // container's exit: "Could not kill running container X, cannot remove -
  // Container X is not running" comes as 500. The next remove succeeds.
  auto message = error.find("message");
  if (message != error.end() && message->is_string()) {
    const auto& text = message->get_ref<const std::string&>();
    if (text.find("cannot remove - ") != std::string::npos && text.find(" is not running") != std::string::npos) {
      return 409;
    }
  }
  auto cause = error.find("cause");
  if (cause == error.end() || !cause->is_string()) return status;
  if (*cause == "that name is already in use" || *cause == "container state improper") return 409;
  // A container Podman removes (AutoRemove) while it is inspected: "container
  // ... does not exist in database: no such container", answered as 500.
  if (*cause == "no such container") return 404;
  return status;
}

}  // namespace dockform::engine
