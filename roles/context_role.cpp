#include "roles/context_role.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "mux/call.hpp"
#include "mux/children.hpp"
#include "mux/dispatcher.hpp"
#include "mux/events.hpp"
#include "mux/id_allocator.hpp"
#include "mux/log.hpp"
#include "mux/log_forward.hpp"
#include "mux/node.hpp"
#include "roles/builtins.hpp"
#include "roles/context_args.hpp"
#include "roles/phase_hook.hpp"
#include "wire/event_names.hpp"

namespace faultmux {

int run_context(const context_options& o) {
  log::init("context:" + o.name, o.verbosity);
  events::open(o.events, "context");
  if (o.parent_ids.empty()) {
    spdlog::error("context {}: --parent-ids is required", o.name);
    return 2;
  }
  node_config cfg;
  cfg.routing.context_id = o.context_id;
  cfg.routing.parent_ids = o.parent_ids;
  cfg.routing.max_message_size = o.max_message_size;
  cfg.routing.unidirectional = o.unidirectional;
  cfg.routing.legacy = o.legacy;
  cfg.streams.max_message_size = o.max_message_size;
  node n(cfg);
  forward_logs_to_parent(n);
  caller calls(n);
  id_allocator ids(n);
  context_settings passed_on{o.unidirectional, o.legacy_names, o.context_fault_at};
  children kids(
      n,
      {o.self, o.verbosity, o.events, std::chrono::milliseconds(10000), 64 * 1024,
       [passed_on](const std::string& name) { return child_context_args(passed_on, name); }},
      [&ids](auto done) { ids.allocate(std::move(done)); });
  function_table fns;
  add_builtins(fns, n, calls, kids);
  dispatcher calls_served(n, fns);
  // mid-call: on the dispatcher's thread, with the call started and its reply not yet made.
  faults::phase_trigger trigger(o.fault_at);
  std::atomic<bool> parent_signalled{false};
  if (trigger.armed() && !o.fault_parent)
    calls_served.on_call_start = [&trigger](const std::string&, std::uint32_t) {
      at_phase(trigger, faults::phase::mid_call);
    };
  // --fault-target parent: the context above dies while this one is mid-call,
  // so a call routed through it is pending when it goes.
  if (trigger.armed() && o.fault_parent)
    calls_served.on_call_start = [&](const std::string&, std::uint32_t) {
      if (parent_signalled.exchange(true)) return;
      const faults::phase_fault& f = *trigger.fault();
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
  // The hello: announce ourselves, as a Mitogen child's route monitor does.
  message hello;
  hello.dst_id = parent;
  hello.handle = handle::add_route;
  hello.data = fmt::format("{}:{}", o.context_id, o.name);
  r.route(std::move(hello));
  spdlog::debug("context {} (id {}) up, parents {}", o.name, o.context_id,
                fmt::join(o.parent_ids, ","));

  n.get_broker().run();
  events::emit(wire::ev::exit, {{"code", 0}});
  spdlog::default_logger()->flush();
  // A call may still be running on the dispatcher's thread; it dies with us.
  std::_Exit(0);
}

}  // namespace faultmux
