#include "faults/signal_fault.hpp"

#include <signal.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

#include "wire/event_names.hpp"

namespace faultmux::faults {

std::optional<int> parse_signal(std::string_view text) {
  int num = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), num);
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size())
    return num >= 1 && num < NSIG ? std::optional<int>(num) : std::nullopt;
  std::string up(text);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up.rfind("SIG", 0) == 0) up.erase(0, 3);
  if (up.empty()) return std::nullopt;
  for (int s = 1; s < NSIG; ++s) {
    const char* abbrev = ::sigabbrev_np(s);
    if (abbrev && up == abbrev) return s;
  }
  return std::nullopt;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

void sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) return;
  timespec until{};
  ::clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += static_cast<time_t>(d.count() / 1000);
  until.tv_nsec += static_cast<long>((d.count() % 1000) * 1000000);
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec += 1;
    until.tv_nsec -= 1000000000;
  }
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
}

int run_timed_signal(const timed_signal& s, const event_log& log) {
  sleep_for(s.after);
  if (::kill(s.pid, s.sig) != 0) {
    int err = errno;
    log.emit(wire::ev::fault_failed,
             {{"kind", "signal"},
              {"target_pid", s.pid},
              {"signal", signal_name(s.sig)},
              {"errno", ::strerrorname_np(err) ? ::strerrorname_np(err) : "?"}});
    return err;
  }
  log.emit(wire::ev::fault, {{"kind", "signal"},
                             {"target_pid", s.pid},
                             {"signal", signal_name(s.sig)},
                             {"after_ms", static_cast<std::int64_t>(s.after.count())}});
  if (!s.resume_after) return 0;
  sleep_for(*s.resume_after);
  if (::kill(s.pid, SIGCONT) != 0) {
    int err = errno;
    log.emit(wire::ev::fault_failed,
             {{"kind", "resume"},
              {"target_pid", s.pid},
              {"signal", "SIGCONT"},
              {"errno", ::strerrorname_np(err) ? ::strerrorname_np(err) : "?"}});
    return err;
  }
  log.emit(wire::ev::fault, {{"kind", "resume"},
                             {"target_pid", s.pid},
                             {"signal", "SIGCONT"},
                             {"after_ms", static_cast<std::int64_t>(s.resume_after->count())}});
  return 0;
}

}  // namespace faultmux::faults
