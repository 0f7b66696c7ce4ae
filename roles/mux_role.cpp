#include <pthread.h>
#include <signal.h>

#include <cstdio>

#include "mux/children.hpp"
#include "mux/events.hpp"
#include "mux/id_allocator.hpp"
#include "mux/log.hpp"
#include "mux/node.hpp"
#include "roles/context_args.hpp"
#include "roles/context_service.hpp"
#include "roles/roles.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

void block_shutdown_signals() {
  sigset_t set;
  ::sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&set, sig);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

int run_mux(const mux_options& o) {
  log::init("mux", o.verbosity);
  events::open(o.events, "mux");
  if (o.legacy.any())
    spdlog::warn("mux: legacy bugs enabled on purpose, this mux fails like old Mitogen: {}",
                 o.legacy.enabled_names());
  node_config cfg;
  cfg.routing.context_id = 0;
  cfg.routing.max_message_size = o.max_message_size;
  cfg.routing.unidirectional = o.unidirectional;
  cfg.routing.legacy = o.legacy;
  cfg.streams.max_message_size = o.max_message_size;
  cfg.streams.output_cap = o.output_cap;
  cfg.streams.error_disconnect_at_debug = o.legacy.error_disconnect_at_debug;
  cfg.shutdown_grace = std::chrono::milliseconds(o.shutdown_grace_ms);
  node n(cfg);
  id_allocator ids(n);
  children_config kids_cfg{o.self,    o.verbosity, o.events, std::chrono::milliseconds(10000),
                           64 * 1024, {}};
  // Every context of the tree routes as the mux does (unidirectional, legacy
  // bugs), and phase faults reach the context their path names.
  context_settings passed_on{o.unidirectional, {}, o.context_fault_at, o.context_behaviours};
  const std::string enabled = o.legacy.enabled_names();
  for (std::string_view names = enabled; !names.empty();) {
    auto comma = names.find(", ");
    passed_on.legacy_bugs.emplace_back(names.substr(0, comma));
    names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 2);
  }
  kids_cfg.extra_args = [passed_on](const std::string& name) {
    return child_context_args(passed_on, name);
  };
  children kids(n, kids_cfg, [&ids](auto done) { ids.allocate(std::move(done)); });
  context_service contexts(n, kids);
  // Everything that needs a descriptor is set up before "listening" tells
  // the world the mux is ready: a fault may take the fd table away from then on.
  // SIGHUP (the terminal or session gone) ends the mux as SIGTERM does. A
  // signal during the shutdown cuts its grace period short; the shutdown
  // still ends in order, every context reaped, the socket file removed.
  bool stopping = false;
  n.on_signals({SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
    if (stopping) {
      spdlog::warn("mux: signal {} during shutdown: cutting the grace period short", sig);
      kids.hurry_shutdown();
      n.hurry_shutdown();
      return;
    }
    stopping = true;
    spdlog::info("mux: signal {}: shutting down", sig);
    kids.shutdown(std::chrono::milliseconds(o.shutdown_grace_ms),
                  [&] { n.shutdown([&] { n.get_broker().stop(); }); });
  });
  try {
    n.listen({o.listen, o.backlog, std::chrono::milliseconds(o.handshake_timeout_ms), 0, o.legacy});
  } catch (const listen_error& e) {
    spdlog::error("mux: {}", e.what());
    events::emit(wire::ev::exit, {{"code", 2}});
    return 2;
  }
  // "listening" tells the world the mux is ready: its up-front contexts too.
  contexts.start_up_front(o.start_contexts, [&] {
    std::printf("listening %s\n", n.get_listener()->path().c_str());
    std::fflush(stdout);
  });

  n.get_broker().run();
  // From here a signal must not kill the mux: asio gives the signals their
  // default action back once the node's signal set is gone. Blocked, a late
  // one stays pending until the exit.
  block_shutdown_signals();
  // Teardown in order: whatever is still open closes while the services its
  // callbacks reach are alive (after a shutdown nothing is).
  n.close_all("mux exiting");
  spdlog::info("mux: exited cleanly");
  events::emit(wire::ev::exit, {{"code", 0}});
  return 0;
}

}  // namespace faultmux
