#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.hpp"
#include "dockform/core/plan.hpp"

namespace dockform::cli {

namespace {
const char* kind_name(core::PlanItem::Kind kind) { return kind == core::PlanItem::Kind::volume ? "volume" : "network"; }

const char* action_name(core::PlanItem::Action action) {
  switch (action) {
    case core::PlanItem::Action::create: return "create";
    case core::PlanItem::Action::exists: return "exists";
    case core::PlanItem::Action::foreign: return "exists without label";
  }
  return "?";
}

nlohmann::ordered_json plan_json(const core::Plan& plan, bool applied) {
  auto items = nlohmann::ordered_json::array();
  for (const auto& item : plan.items) {
    items.push_back({{"kind", kind_name(item.kind)}, {"name", item.name}, {"action", action_name(item.action)}});
  }
  return {{"items", items}, {"to_create", plan.count(core::PlanItem::Action::create)}, {"applied", applied}};
}

void print_plan(const core::Plan& plan) {
  for (const auto& item : plan.items) {
    switch (item.action) {
      case core::PlanItem::Action::create:
        std::cout << "+ create " << kind_name(item.kind) << " " << item.name << "\n";
        break;
      case core::PlanItem::Action::exists:
        std::cout << "  " << kind_name(item.kind) << " " << item.name << " exists\n";
        break;
      case core::PlanItem::Action::foreign:
        std::cout << "! " << kind_name(item.kind) << " " << item.name << " exists without label "
                  << core::kIdentifierLabel << "; left alone\n";
        break;
    }
  }
  int creates = plan.count(core::PlanItem::Action::create);
  std::cout << (creates == 0 ? std::string("nothing to do") : std::to_string(creates) + " to create") << std::endl;
}
}  // namespace

void add_plan_commands(CLI::App& app, CliState& state) {
  auto plan_as_json = std::make_shared<bool>(false);
  auto* plan = app.add_subcommand("plan", "Show the volumes and networks that apply would create");
  add_json_flag(plan, *plan_as_json);
  plan->callback([&state, plan_as_json] {
    state.run = [plan_as_json](core::Session& session) {
      auto result = core::compute_plan(session.manifest(), session.engine());
      if (*plan_as_json) {
        print_json(plan_json(result, false));
      } else {
        print_plan(result);
      }
      return 0;
    };
  });
  auto apply_as_json = std::make_shared<bool>(false);
  auto* apply = app.add_subcommand("apply", "Create the declared volumes and networks that are missing");
  add_json_flag(apply, *apply_as_json);
  apply->callback([&state, apply_as_json] {
    state.run = [apply_as_json](core::Session& session) {
      auto result = core::compute_plan(session.manifest(), session.engine());
      if (!*apply_as_json) print_plan(result);
      core::apply_plan(session.manifest(), session.engine(), result);
      for (const auto& item : result.items) {
        if (item.action == core::PlanItem::Action::foreign) {
          spdlog::warn("{} {} exists without label {}; left alone", kind_name(item.kind), item.name,
                       core::kIdentifierLabel);
        }
      }
      if (*apply_as_json) {
        print_json(plan_json(result, true));
      } else if (result.count(core::PlanItem::Action::create) > 0) {
        std::cout << "applied" << std::endl;
      }
      return 0;
    };
  });
}

}  // namespace dockform::cli
