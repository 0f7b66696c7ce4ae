// FAULTMUX_SIGNALS="SIGALRM,SIGUSR1": at load, the shim gives each named
// signal a handler that does nothing, installed without SA_RESTART, as a
// host program's own timer handler would be (Ansible's SIGALRM timeout, any
// Python signal handler). A signal storm sent to the program then interrupts
// whatever blocking call is under way with EINTR, which the program must
// retry; without such a handler those signals would kill it or be ignored
// and interrupt nothing. Kept apart from the socket rules: it needs no rule.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

struct named_signal {
  std::string_view name;
  int number;
};

constexpr named_signal interruptible[] = {{"SIGALRM", SIGALRM},   {"SIGUSR1", SIGUSR1},
                                          {"SIGUSR2", SIGUSR2},   {"SIGCHLD", SIGCHLD},
                                          {"SIGWINCH", SIGWINCH}, {"SIGURG", SIGURG}};

void ignore_signal(int) {}

void say(std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(2, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

__attribute__((constructor)) void shim_signals_init() {
  const char* text = std::getenv("FAULTMUX_SIGNALS");
  if (text == nullptr) return;
  for (std::string_view rest = text; !rest.empty();) {
    std::size_t comma = rest.find(',');
    std::string_view name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    int sig = 0;
    for (const auto& s : interruptible)
      if (s.name == name) sig = s.number;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = ignore_signal;  // no SA_RESTART: blocking calls fail with EINTR
    if (sig == 0 || ::sigaction(sig, &sa, nullptr) != 0) {
      say("faultmux shim: FAULTMUX_SIGNALS: expected SIGALRM, SIGUSR1, SIGUSR2, SIGCHLD, "
          "SIGWINCH or SIGURG separated by commas, got \"");
      say(name);
      say("\"\n");
      _exit(2);
    }
  }
}

}  // namespace
