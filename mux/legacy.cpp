#include "mux/legacy.hpp"

#include <array>

namespace faultmux {
namespace {

struct entry {
  std::string_view name;
  bool legacy_bugs::*flag;
};

constexpr std::array<entry, 10> table{{
    {"crash-on-eagain", &legacy_bugs::crash_on_eagain},
    {"small-backlog", &legacy_bugs::small_backlog},
    {"epipe-crash", &legacy_bugs::epipe_crash},
    {"blocking-handshake", &legacy_bugs::blocking_handshake},
    {"accept-crash", &legacy_bugs::accept_crash},
    {"no-dead-message", &legacy_bugs::no_dead_message},
    {"no-dead-reply-on-disconnect", &legacy_bugs::no_dead_reply_on_disconnect},
    {"error-disconnect-at-debug", &legacy_bugs::error_disconnect_at_debug},
    {"no-handshake-deadline", &legacy_bugs::no_handshake_deadline},
    {"no-uid-check", &legacy_bugs::no_uid_check},
}};

std::string join(const legacy_bugs* only) {
  std::string out;
  for (const entry& e : table) {
    if (only && !(only->*e.flag)) continue;
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

}  // namespace

bool legacy_bugs::enable(std::string_view name) {
  for (const entry& e : table) {
    if (e.name == name) {
      this->*e.flag = true;
      return true;
    }
  }
  return false;
}

bool legacy_bugs::any() const {
  return !enabled_names().empty();
}

std::string legacy_bugs::enabled_names() const {
  return join(this);
}

std::string legacy_bugs::known_names() {
  return join(nullptr);
}

}  // namespace faultmux
