// `faultmux mux`: the built-in mux until SIGTERM.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/number_checks.hpp"
#include "harness/cli/phase_fault_option.hpp"
#include "roles/roles.hpp"

namespace faultmux::cli {
namespace {

struct mux_command_options {
  mux_options mux;
  std::vector<std::string> context_faults;      // NAME=PHASE:ACTION, checked before the mux starts
  std::vector<std::string> context_behaviours;  // NAME=BEHAVIOUR
  std::vector<std::string> legacy_bug_names;
};

void add_limit_options(CLI::App* sub, mux_options& mux) {
  sub->add_option("--backlog", mux.backlog, "listen backlog: set it to the number of workers")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  sub->add_option("--max-message-size", mux.max_message_size, "largest body in bytes")
      ->capture_default_str();
  sub->add_option("--output-cap", mux.output_cap,
                  "bytes queued for one stream before it is disconnected as a slow reader")
      ->capture_default_str();
  sub->add_flag("--unidirectional", mux.unidirectional,
                "refuse forwards between unprivileged streams");
  sub->add_option("--handshake-timeout-ms", mux.handshake_timeout_ms,
                  "deadline for a client's handshake")
      ->check(positive)
      ->capture_default_str();
  sub->add_option("--shutdown-grace-ms", mux.shutdown_grace_ms,
                  "time to flush queued output on shutdown")
      ->check(non_negative)
      ->capture_default_str();
}

int run_mux_command(mux_command_options o, const invocation& in) {
  if (!parse_context_faults("mux", o.context_faults, o.mux.context_fault_at)) return 2;
  if (!parse_context_behaviours("mux", o.context_behaviours, o.mux.context_behaviours)) return 2;
  auto bugs = legacy_bugs_named("mux", "--legacy-bug", o.legacy_bug_names);
  if (!bugs) return 2;
  o.mux.legacy = *bugs;
  o.mux.verbosity = std::max(o.mux.verbosity, in.verbosity);
  o.mux.self = in.self;
  return run_mux(o.mux);
}

}  // namespace

void add_mux_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<mux_command_options>();
  auto* sub = app.add_subcommand("mux", "run the built-in mux until SIGTERM");
  sub->add_option("--listen", o->mux.listen,
                  "socket path (default: a new private directory under $TMPDIR)");
  add_limit_options(sub, o->mux);
  sub->add_option("--events", o->mux.events, "append JSON-lines events to this file");
  sub->add_flag("-v,--verbose", o->mux.verbosity, "more logging; -vv for every message")
      ->take_all();
  sub->add_option("--context-fault-at", o->context_faults,
                  "NAME=PHASE:ACTION: start the context NAME with --fault-at PHASE:ACTION "
                  "(repeatable)");
  sub->add_option("--start-context", o->mux.start_contexts,
                  "NAME: start this context (a ContextService name or path a/b) before saying "
                  "`listening` (repeatable)");
  sub->add_option("--context-behave", o->context_behaviours,
                  "NAME=BEHAVIOUR: start the context NAME with --behave BEHAVIOUR, e.g. "
                  "target=linger:3000 (repeatable)");
  sub->add_option("--legacy-bug", o->legacy_bug_names,
                  legacy_bug_help("NAME: re-enable one historical Mitogen failure on purpose, to "
                                  "prove the suite catches it (repeatable)"));
  on_chosen(sub, chosen, [o](const invocation& in) { return run_mux_command(*o, in); });
}

}  // namespace faultmux::cli
