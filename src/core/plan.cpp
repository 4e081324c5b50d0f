#include "dockform/core/plan.hpp"

#include <algorithm>
#include <set>

namespace dockform::core {

namespace {
PlanItem::Action action_for(bool exists, const engine::Labels& labels, const std::string& identifier) {
  if (!exists) return PlanItem::Action::create;
  auto label = labels.find(kIdentifierLabel);
  return label != labels.end() && label->second == identifier ? PlanItem::Action::exists : PlanItem::Action::foreign;
}
}  // namespace

int Plan::count(PlanItem::Action action) const {
  return static_cast<int>(
      std::count_if(items.begin(), items.end(), [&](const PlanItem& item) { return item.action == action; }));
}

Plan compute_plan(const manifest::Manifest& manifest, engine::Engine& engine) {
  Plan plan;
  for (const auto& [name, volume] : manifest.volumes) {
    auto info = engine.volume_inspect(name);
    plan.items.push_back({PlanItem::Kind::volume,
                          action_for(info.has_value(), info ? info->labels : engine::Labels{}, manifest.identifier),
                          name});
  }
  auto networks = engine.network_list();
  for (const auto& entry : manifest.networks) {
    const std::string& name = entry.first;
    auto found = std::find_if(networks.begin(), networks.end(),
                              [&](const engine::json& item) { return item.value("Name", "") == name; });
    engine::Labels labels;
    if (found != networks.end() && found->contains("Labels") && (*found)["Labels"].is_object()) {
      labels = (*found)["Labels"].get<engine::Labels>();
    }
    plan.items.push_back(
        {PlanItem::Kind::network, action_for(found != networks.end(), labels, manifest.identifier), name});
  }
  return plan;
}

void apply_plan(const manifest::Manifest& manifest, engine::Engine& engine, const Plan& plan) {
  for (const auto& item : plan.items) {
    if (item.action != PlanItem::Action::create) continue;
    if (item.kind == PlanItem::Kind::volume) {
      const auto& volume = manifest.volumes.at(item.name);
      auto labels = volume.labels;
      labels[kIdentifierLabel] = manifest.identifier;
      engine.volume_create(item.name, volume.driver, volume.driver_opts, labels);
    } else {
      const auto& network = manifest.networks.at(item.name);
      engine.network_create(item.name, network.driver, network.options, {{kIdentifierLabel, manifest.identifier}});
    }
  }
}

}  // namespace dockform::core
