#include "roles/phase_hook.hpp"

#include "mux/events.hpp"
#include "mux/log.hpp"
#include "wire/event_names.hpp"

namespace faultmux {

void at_phase(faults::phase_trigger& t, faults::phase p) {
  if (!t.due(p)) return;
  bool continued = t.reached(p, [](const faults::phase_fault& f) {
    spdlog::info("fault: {} at phase {}", faults::action_name(f.action), faults::phase_name(f.at));
    spdlog::default_logger()->flush();
    events::emit(wire::ev::fault, {{"kind", "phase"},
                                   {"phase", faults::phase_name(f.at)},
                                   {"action", faults::action_name(f.action)},
                                   {"spec", faults::to_string(f)},
                                   {"frame_bytes", f.frame_bytes}});
  });
  if (continued)
    events::emit(wire::ev::fault_continued, {{"kind", "phase"},
                                             {"phase", faults::phase_name(p)},
                                             {"action", faults::action_name(t.fault()->action)}});
}

faults::phase phase_of(connect_phase p) {
  switch (p) {
    case connect_phase::connected:
      return faults::phase::connected;
    case connect_phase::pid_sent:
      return faults::phase::pid_sent;
    case connect_phase::identity_received:
      return faults::phase::identity_received;
  }
  return faults::phase::connected;
}

}  // namespace faultmux
