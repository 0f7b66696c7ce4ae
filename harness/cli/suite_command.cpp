// `faultmux suite`: the built-in suite against the built-in mux.
#include <memory>

#include "harness/cli/commands.hpp"
#include "harness/suite.hpp"

namespace faultmux::cli {
namespace {

struct suite_command_options {
  bool with_mitogen = false;  // also every scenario against Mitogen 0.3.3, as findings
  std::string filter;         // glob over scenario names; empty: all
};

}  // namespace

void add_suite_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<suite_command_options>();
  auto* sub = app.add_subcommand(
      "suite",
      "run the built-in suite against the built-in mux; writes reports/latest/ (results.json, "
      "junit.xml, index.html with the history of the last 20 suite runs)");
  sub->add_flag("--with-mitogen", o->with_mitogen,
                "also run every scenario against Mitogen 0.3.3 (python3-mitogen) into the same "
                "report: its results are findings and do not change the exit status");
  sub->add_option("--filter", o->filter,
                  "only the built-in scenarios whose name matches this glob (the smoke workload "
                  "always runs)");
  on_chosen(sub, chosen, [o](const invocation& in) {
    return run_suite(in.self, in.verbosity, in.command_line, o->with_mitogen, o->filter);
  });
}

}  // namespace faultmux::cli
