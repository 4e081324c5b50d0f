#include "commands.hpp"

namespace dockform::cli {

void add_restore_command(CLI::App& volume, CliState& state) {
  (void)volume;
  (void)state;
}

}  // namespace dockform::cli
