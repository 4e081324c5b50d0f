#pragma once
// What `apply` would create: declared volumes and networks that are missing.
#include <string>
#include <vector>

#include "dockform/engine/docker.hpp"
#include "dockform/manifest/manifest.hpp"
#include "dockform/util/names.hpp"

namespace dockform::core {

using names::kIdentifierLabel;

struct PlanItem {
  enum class Kind { volume, network };
  enum class Action { create, exists, foreign };  // foreign: exists without our label
  Kind kind;
  Action action;
  std::string name;
};

struct Plan {
  std::vector<PlanItem> items;
  int count(PlanItem::Action action) const;
};

Plan compute_plan(const manifest::Manifest& manifest, engine::Engine& engine);
// Creates what the plan marks `create`, labelled with the identifier.
void apply_plan(const manifest::Manifest& manifest, engine::Engine& engine, const Plan& plan);

}  // namespace dockform::core
