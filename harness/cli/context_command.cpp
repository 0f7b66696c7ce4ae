// `faultmux context`: a child context, started by a mux or another context.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/phase_fault_option.hpp"
#include "roles/context_role.hpp"

namespace faultmux::cli {
namespace {

struct context_command_options {
  context_options context;
  std::string parent_ids;  // comma-separated, nearest first
  std::string fault_at;    // PHASE:ACTION
  std::string fault_target = "self";
  std::vector<std::string> child_faults;      // PATH=PHASE:ACTION[@parent]
  std::string behave;                         // NAME[:N][ pipe=BYTES]
  std::vector<std::string> child_behaviours;  // PATH=BEHAVIOUR
};

void add_context_options(CLI::App* sub, context_command_options& o) {
  context_options& c = o.context;
  sub->add_option("--fd", c.fd, "the stream to the parent")->capture_default_str();
  sub->add_option("--context-id", c.context_id, "this context's id")->required();
  sub->add_option("--parent-ids", o.parent_ids, "ancestor ids, nearest first, comma-separated")
      ->required();
  sub->add_option("--name", c.name, "this context's name")->required();
  sub->add_option("--max-message-size", c.max_message_size, "largest body in bytes")
      ->capture_default_str();
  sub->add_option("--events", c.events, "append JSON-lines events to this file");
  sub->add_flag("-v,--verbose", c.verbosity, "more logging; -vv for every message")->take_all();
  sub->add_option("--fault-at", o.fault_at,
                  "PHASE:ACTION: signal this context at a phase (mid-call; SIGKILL, SIGTERM or "
                  "SIGSTOP)");
  sub->add_option("--fault-target", o.fault_target,
                  "who gets the --fault-at signal: self, or parent (the context that started "
                  "this one)")
      ->check(CLI::IsMember({"self", "parent"}))
      ->capture_default_str();
  sub->add_flag("--unidirectional", c.unidirectional,
                "refuse forwards between unprivileged streams (passed on to children)");
  sub->add_option("--legacy-bug", c.legacy_names,
                  "NAME: a legacy bug of the mux, in this context's router too (repeatable)");
  sub->add_option("--context-fault-at", o.child_faults,
                  "PATH=PHASE:ACTION[@parent]: a phase fault for the context PATH below this "
                  "one (repeatable)");
  sub->add_option("--behave", o.behave,
                  "BEHAVIOUR: misbehave on purpose: " + faults::acts_accepted() +
                      "; ' pipe=BYTES' after it lowers the stdout and stderr pipes first");
  sub->add_option("--context-behave", o.child_behaviours,
                  "PATH=BEHAVIOUR: a misbehaviour for the context PATH below this one "
                  "(repeatable)");
}

// Sets the context's own phase fault and who it signals; false after saying what is wrong.
bool read_fault_at(context_command_options& o) {
  context_options& c = o.context;
  if (!o.fault_at.empty()) {
    c.fault_at = parse_fault_at("context", "--fault-at", o.fault_at, faults::phase_role::context);
    if (!c.fault_at) return false;
  }
  c.fault_parent = o.fault_target == "parent";
  if (c.fault_parent && !c.fault_at) {
    std::fprintf(stderr, "faultmux context: --fault-target parent needs --fault-at\n");
    return false;
  }
  return true;
}

bool read_parent_ids(const std::string& text, std::vector<std::uint32_t>& out) {
  std::stringstream ids(text);
  for (std::string id; std::getline(ids, id, ',');) {
    try {
      out.push_back(static_cast<std::uint32_t>(std::stoul(id)));
    } catch (const std::exception&) {
      std::fprintf(stderr, "faultmux context: --parent-ids: %s is not a context id\n", id.c_str());
      return false;
    }
  }
  return true;
}

int run_context_command(context_command_options o, const invocation& in) {
  context_options& c = o.context;
  if (!read_fault_at(o)) return 2;
  auto bugs = legacy_bugs_named("context", "--legacy-bug", c.legacy_names);
  if (!bugs) return 2;
  c.legacy = *bugs;
  if (!parse_context_faults("context", o.child_faults, c.context_fault_at)) return 2;
  if (!o.behave.empty() && !(c.behaviour = parse_behave("context", "--behave", o.behave))) return 2;
  if (!parse_context_behaviours("context", o.child_behaviours, c.context_behaviours)) return 2;
  c.verbosity = std::max(c.verbosity, in.verbosity);
  c.self = in.self;
  if (!read_parent_ids(o.parent_ids, c.parent_ids)) return 2;
  return run_context(c);
}

}  // namespace

void add_context_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<context_command_options>();
  auto* sub =
      app.add_subcommand("context", "a child context (started by a mux or another context)");
  add_context_options(sub, *o);
  on_chosen(sub, chosen, [o](const invocation& in) { return run_context_command(*o, in); });
}

}  // namespace faultmux::cli
