// `faultmux probe`, hidden: the driver's listener probe in a process of its
// own, started with FAULTMUX_PEER=probe so that the shim in the target can
// tell its connections from the workers' (a rule skips the probe unless it
// says peer=probe). Prints one JSON line: {"ok", "detail", "errno"}.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/cli/commands.hpp"
#include "harness/probe.hpp"

namespace faultmux::cli {

void add_probe_command(CLI::App& app, runner& chosen) {
  struct options {
    std::string socket;
    int budget_ms = 3000;
  };
  auto o = std::make_shared<options>();
  // Not listed in --help (an empty group): only the driver runs it.
  auto* sub = app.add_subcommand("probe", "the driver's listener probe, as peer \"probe\"");
  sub->group("");
  sub->add_option("--socket", o->socket, "the listener's socket path")->required();
  sub->add_option("--budget-ms", o->budget_ms, "every wait of the probe within this")
      ->check(CLI::Range(1, 600000));
  on_chosen(sub, chosen, [o](const invocation&) {
    probe_result p = probe_listener(o->socket, ms(o->budget_ms));
    nlohmann::json line = {{"ok", p.ok}, {"detail", p.detail}, {"errno", p.connect_errno}};
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
    return 0;
  });
}

}  // namespace faultmux::cli
