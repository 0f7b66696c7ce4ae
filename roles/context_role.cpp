#include "roles/context_role.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "mux/call.hpp"
#include "mux/children.hpp"
#include "mux/coverage.hpp"
#include "mux/dispatcher.hpp"
#include "mux/events.hpp"
#include "mux/id_allocator.hpp"
#include "mux/log.hpp"
#include "mux/log_forward.hpp"
#include "mux/node.hpp"
#include "roles/builtins.hpp"
#include "roles/context_args.hpp"
#include "roles/misbehaviour.hpp"
#include "roles/phase_hook.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

node_config context_node_config(const context_options& o) {
  node_config cfg;
  cfg.routing.context_id = o.context_id;
  cfg.routing.parent_ids = o.parent_ids;
  cfg.routing.max_message_size = o.max_message_size;
  cfg.routing.unidirectional = o.unidirectional;
  cfg.routing.legacy = o.legacy;
  cfg.streams.max_message_size = o.max_message_size;
  return cfg;
}

// The phase fault of --fault-at fires as a call starts: on the dispatcher's
// thread, with the call started and its reply not yet made. With
// --fault-target parent the context above dies instead (once), so a call
// routed through it is pending when it goes.
void arm_call_faults(dispatcher& calls_served, const context_options& o,
                     faults::phase_trigger& trigger, std::atomic<bool>& parent_signalled) {
  if (!trigger.armed()) return;
  if (!o.fault_parent) {
    calls_served.on_call_start = [t = &trigger](const std::string&, std::uint32_t) {
      at_phase(*t, faults::phase::mid_call);
    };
    return;
  }
  calls_served.on_call_start = [t = &trigger, signalled = &parent_signalled](const std::string&,
                                                                             std::uint32_t) {
    if (signalled->exchange(true)) return;
    const faults::phase_fault& f = *t->fault();
    pid_t parent = ::getppid();
    spdlog::info("fault: {} to the parent (PID {}) at phase {}", faults::action_name(f.action),
                 parent, faults::phase_name(f.at));
    events::emit(wire::ev::fault, {{"kind", "phase"},
                                   {"phase", faults::phase_name(f.at)},
                                   {"action", faults::action_name(f.action)},
                                   {"spec", faults::to_string(f)},
                                   {"victim", "parent"},
                                   {"target_pid", parent}});
    ::kill(parent, faults::action_signal(f.action));
  };
}

// The hello: announce ourselves, as a Mitogen child's route monitor does.
void announce_to_parent(router& r, const context_options& o) {
  message hello;
  hello.dst_id = o.parent_ids.front();
  hello.handle = handle::add_route;
  hello.data = fmt::format("{}:{}", o.context_id, o.name);
  r.route(std::move(hello));
}

}  // namespace

int run_context(const context_options& o) {
  log::init("context:" + o.name, o.verbosity);
  events::open(o.events, "context");
  if (o.parent_ids.empty()) {
    spdlog::error("context {}: --parent-ids is required", o.name);
    return 2;
  }
  if (o.behaviour) misbehave_at_start(*o.behaviour);
  node n(context_node_config(o));
  forward_logs_to_parent(n);
  caller calls(n);
  id_allocator ids(n);
  context_settings passed_on{o.unidirectional, o.legacy_names, o.context_fault_at,
                             o.context_behaviours};
  children kids(
      n,
      {o.self, o.verbosity, o.events, std::chrono::milliseconds(10000), 64 * 1024,
       [passed_on](const std::string& name) { return child_context_args(passed_on, name); }},
      [&ids](auto done) { ids.allocate(std::move(done)); });
  function_table fns;
  add_builtins(fns, n, calls, kids);
  dispatcher calls_served(n, fns);
  faults::phase_trigger trigger(o.fault_at);
  std::atomic<bool> parent_signalled{false};
  arm_call_faults(calls_served, o, trigger, parent_signalled);
  if (o.behaviour) arm_misbehaviour(n, calls_served, o.fd, o.parent_ids.front(), *o.behaviour);

  bool stopping = false;
  auto stop = [&](const char* why) {
    if (stopping) return;
    stopping = true;
    spdlog::debug("context {}: {}: shutting down", o.name, why);
    calls_served.stop();
    kids.shutdown(std::chrono::milliseconds(2000),
                  [&] { n.shutdown([&] { n.get_broker().stop(); }); });
  };

  router& r = n.get_router();
  const std::uint32_t parent = o.parent_ids.front();
  r.add_handler(
      [&](message& m) {
        if (!m.is_dead()) stop("SHUTDOWN from the parent");
      },
      {.handle = handle::shutdown,
       .persist = true,
       .policy = [&](const message& m,
                     peer*) { return has_parent_authority(m, o.context_id, o.parent_ids); },
       .respondent = {}});
  n.attach(unique_fd(o.fd), "parent", parent,
           {.stamp_auth_id = {}, .on_first_message = {}, .on_closed = [&](int) {
              stop("the parent went away");
            }});
  n.on_signals({SIGTERM, SIGINT}, [&](int) { stop("signal"); });
  calls_served.start();
  announce_to_parent(r, o);
  spdlog::debug("context {} (id {}) up, parents {}", o.name, o.context_id,
                fmt::join(o.parent_ids, ","));

  n.get_broker().run();
  events::emit(wire::ev::exit, {{"code", 0}});
  spdlog::default_logger()->flush();
  // A call may still be running on the dispatcher's thread; it dies with us.
  flush_coverage();
  std::_Exit(0);
}

}  // namespace faultmux
