#include "mux/events.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <system_error>

#include "wire/event_file.hpp"
#include "wire/event_line.hpp"

namespace faultmux::events {
namespace {

// The lock keeps open() and close() from swapping the file or the role
// under a writer; the line itself is one O_APPEND write.
std::mutex mu;
wire::event_file file;
std::string role_name;
// Whether a file is open, read without the lock: most processes of a big
// run write no events, and a worker emits one per round trip.
std::atomic<bool> open_now{false};

}  // namespace

void open(const std::string& path, std::string role) {
  std::lock_guard lock(mu);
  role_name = std::move(role);
  if (int err = file.open(path); err != 0)
    throw std::system_error(err, std::generic_category(), "cannot open events file " + path);
  open_now = true;
}

void close() {
  std::lock_guard lock(mu);
  open_now = false;
  file.close();
}

bool enabled() {
  std::lock_guard lock(mu);
  return file.is_open();
}

double now() {
  return wire::event_seconds();
}

void emit(std::string_view event, std::initializer_list<field> fields) {
  if (!open_now.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mu);
  if (!file.is_open()) return;
  wire::string_event_line l;
  l.head(wire::event_clock(), ::getpid(), role_name, event);
  for (const field& f : fields) std::visit([&](const auto& v) { l.field(f.key, v); }, f.val);
  file.write_line(l.finish());
}

}  // namespace faultmux::events
