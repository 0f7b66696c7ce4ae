#include "faults/event_log.hpp"

#include <unistd.h>

#include "wire/event_line.hpp"

namespace faultmux::faults {

double monotonic_seconds() {
  return wire::event_seconds();
}

int event_log::open(const std::string& path, std::string role) {
  role_ = std::move(role);
  return file_.open(path);
}

void event_log::emit(std::string_view event, const field* first, const field* last) const {
  if (!file_.is_open()) return;
  wire::string_event_line l;
  l.head(wire::event_clock(), ::getpid(), role_, event);
  for (const field* it = first; it != last; ++it)
    std::visit([&](const auto& v) { l.field(it->key, v); }, it->val);
  file_.write_line(l.finish());
}

}  // namespace faultmux::faults
