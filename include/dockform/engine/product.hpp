#pragma once
// Which engine product answers: Docker Engine and Podman both speak the Docker
// Engine API, and `GET /version` is where they say who they are.
#include <nlohmann/json.hpp>
#include <string>

namespace dockform::engine {

// The product name from a `GET /version` body: "Docker Engine - Community",
// "Docker Engine", "Podman Engine", ... ("unknown engine" when it says nothing).
std::string product_name(const nlohmann::json& version);

}  // namespace dockform::engine
