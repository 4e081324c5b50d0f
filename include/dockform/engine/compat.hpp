#pragma once
// Where Podman's Docker-compatible API answers differently from dockerd, the
// differences are smoothed here so that nothing above src/engine knows which
// engine it talks to (README, "Engines").
#include <map>
#include <string>
#include <vector>

namespace dockform::engine {

// Container states as dockerd names them. Podman's own states ("configured",
// "stopped", "stopping") can show through its compatible API.
std::string docker_state(const std::string& state);

// True when `labels` match every "key" or "key=value" filter. Some Podman releases
// OR several label filters where dockerd ANDs them: lists are checked again here.
bool matches_label_filters(const std::map<std::string, std::string>& labels, const std::vector<std::string>& filters);

// The status dockerd would have answered. Podman answers 500 where dockerd
// answers 409 Conflict, and says why in the body's "cause": a container name
// already in use (lock and record containers rely on the 409), a container in
// the wrong state (kill of a stopped container); and 500 where dockerd answers
// 404 for a container being removed while it is inspected (cause "no such
// container"). dockerd itself answers 500 for a forced remove that races the
// container's exit, where the state conflict is meant (409, retried).
long docker_status(long status, const std::string& body);

}  // namespace dockform::engine
