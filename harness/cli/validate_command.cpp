// `faultmux validate`: scenario files checked, not run.
#include <memory>
#include <string>
#include <vector>

#include "harness/cli/commands.hpp"
#include "harness/scenario.hpp"

namespace faultmux::cli {
namespace {

struct validate_command_options {
  std::vector<std::string> files;  // scenario files (TOML)
};

}  // namespace

void add_validate_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<validate_command_options>();
  auto* sub = app.add_subcommand("validate", "check scenario files without running them");
  sub->add_option("FILE", o->files, "scenario files (TOML)")->required();
  on_chosen(sub, chosen, [o](const invocation&) { return validate_scenarios(o->files); });
}

}  // namespace faultmux::cli
