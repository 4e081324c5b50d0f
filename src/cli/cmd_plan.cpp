#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.hpp"
#include "dockform/core/plan.hpp"

namespace dockform::cli {

namespace {
const char* kind_name(core::PlanItem::Kind kind) { return kind == core::PlanItem::Kind::volume ? "volume" : "network"; }

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
        std::cout << "! " << kind_name(item.kind) << " " << item.name
                  << " exists without label " << core::kIdentifierLabel << "; left alone\n";
        break;
    }
  }
  int creates = plan.count(core::PlanItem::Action::create);
  std::cout << (creates == 0 ? std::string("nothing to do") : std::to_string(creates) + " to create") << std::endl;
}
}  // namespace

void add_plan_commands(CLI::App& app, CliState& state) {
  auto* plan = app.add_subcommand("plan", "Show the volumes and networks that apply would create");
  plan->callback([&state] {
    state.run = [](core::Session& session) {
      print_plan(core::compute_plan(session.manifest(), session.engine()));
      return 0;
    };
  });
  auto* apply = app.add_subcommand("apply", "Create the declared volumes and networks that are missing");
  apply->callback([&state] {
    state.run = [](core::Session& session) {
      auto result = core::compute_plan(session.manifest(), session.engine());
      print_plan(result);
      core::apply_plan(session.manifest(), session.engine(), result);
      for (const auto& item : result.items) {
        if (item.action == core::PlanItem::Action::foreign) {
          spdlog::warn("{} {} exists without label {}; left alone", kind_name(item.kind), item.name, core::kIdentifierLabel);
        }
      }
      if (result.count(core::PlanItem::Action::create) > 0) std::cout << "applied" << std::endl;
      return 0;
    };
  });
}

}  // namespace dockform::cli
