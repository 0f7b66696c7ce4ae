#include "harness/proc_diagnosis.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace faultmux {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string proc_state(pid_t pid) {
  std::string stat = slurp(fmt::format("/proc/{}/stat", pid));
  // The command name may hold ')': the state follows the last one.
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return "gone";
  char state = stat[paren + 2];
  const char* what = state == 'R'   ? "running"
                     : state == 'S' ? "sleeping"
                     : state == 'D' ? "disk sleep"
                     : state == 'T' ? "stopped"
                     : state == 't' ? "traced"
                     : state == 'Z' ? "zombie"
                                    : "?";
  std::string wchan = slurp(fmt::format("/proc/{}/wchan", pid));
  if (wchan.empty() || wchan == "0") wchan = "-";
  return fmt::format("state {} ({}), wchan {}", state, what, wchan);
}

bool proc_stopped(pid_t pid) {
  return proc_state(pid).rfind("state T", 0) == 0;
}

std::string tail_of(const std::string& path, std::size_t max) {
  std::string all = slurp(path);
  if (all.size() <= max) return all;
  std::string t = all.substr(all.size() - max);
  auto nl = t.find('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

long peak_rss_kib(pid_t pid) {
  std::string status = slurp(fmt::format("/proc/{}/status", pid));
  auto at = status.find("VmHWM:");
  return at == std::string::npos ? -1 : std::atol(status.c_str() + at + 6);
}

std::vector<std::string> reap_contexts(const timeline& mux_events) {
  std::vector<std::string> left;
  // A context the mux could not signal, and said so, may outlive it: that
  // is its due, not a leak. It is ended all the same.
  std::set<pid_t> abandoned;
  for (const auto& e : mux_events)
    if (e.event() == "child_abandoned") abandoned.insert(static_cast<pid_t>(e.num("child_pid")));
  for (const auto& e : mux_events) {
    if (e.event() != "child_start") continue;
    pid_t pid = static_cast<pid_t>(e.num("child_pid"));
    if (abandoned.count(pid)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      continue;
    }
    if (pid <= 0 || ::kill(pid, 0) != 0) continue;
    // A context whose parent context was killed exits on its own; the
    // driver, the run's subreaper, is its parent now and reaps it.
    bool reaped = false;
    for (int i = 0; i < 100 && !reaped; ++i) {
      reaped = ::waitpid(pid, nullptr, WNOHANG) == pid;
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (reaped) continue;
    left.push_back(fmt::format("context {} (pid {}): {}", e.str("child"), pid, proc_state(pid)));
    ::kill(pid, SIGKILL);
  }
  return left;
}

}  // namespace faultmux
