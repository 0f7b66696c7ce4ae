#include "tests/support/fault_support.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "tests/support/mux_process.hpp"
#include "tests/support/stream_support.hpp"

namespace faultmux::test::fault {
namespace {

using clock = std::chrono::steady_clock;

ms left(clock::time_point end) {
  return std::max(ms(0), std::chrono::duration_cast<ms>(end - clock::now()));
}

}  // namespace

bool finished::exited(int code) const {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

bool finished::killed_by(int sig) const {
  return status && WIFSIGNALED(*status) && WTERMSIG(*status) == sig;
}

std::string finished::describe() const {
  return (status ? describe_status(*status) : std::string("did not finish in time")) +
         "\n--- stdout:\n" + out + "--- stderr:\n" + err;
}

child_process start_faultmux(const run_dir& dir, const std::vector<std::string>& args,
                             const std::string& name) {
  // Its run directories (a failed run's, kept by -v) go in the test's own
  // directory, which goes with the test, not in /tmp.
  std::vector<std::string> argv{"/usr/bin/env", "TMPDIR=" + dir.path(), binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn_logged(argv, dir.file(name + ".stderr"));
}

finished finish(child_process& p, const run_dir& dir, const std::string& name, ms timeout) {
  auto end = clock::now() + timeout;
  finished f;
  while (auto line = p.read_line(left(end))) f.out += *line + "\n";
  f.status = p.wait(left(end));
  if (!f.status) {
    p.signal(SIGKILL);
    p.wait(ms(5000));
  }
  f.err = slurp(dir.file(name + ".stderr"));
  return f;
}

finished run_faultmux(const run_dir& dir, const std::vector<std::string>& args, ms timeout) {
  static int serial = 0;
  std::string name = "run" + std::to_string(++serial);
  child_process p = start_faultmux(dir, args, name);
  return finish(p, dir, name, timeout);
}

std::vector<json> named(const std::vector<json>& events, std::string_view name) {
  std::vector<json> out;
  for (const json& e : events)
    if (e.value("event", "") == name) out.push_back(e);
  return out;
}

std::vector<std::string> logs_with(const std::vector<json>& events,
                                   std::initializer_list<std::string> needles) {
  std::vector<std::string> out;
  for (const json& e : events) {
    if (e.value("event", "") != "log") continue;
    std::string msg = e.value("msg", "");
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return msg.find(n) != std::string::npos; }))
      out.push_back(msg);
  }
  return out;
}

std::vector<std::string> problem_logs(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const json& e : events)
    if (streams::is_problem_log(e)) out.push_back(e.value("msg", ""));
  return out;
}

std::vector<json> from_pid(const std::vector<json>& events, pid_t pid) {
  std::vector<json> out;
  for (const json& e : events)
    if (e.value("pid", -1) == pid) out.push_back(e);
  return out;
}

std::vector<std::string> shim_prefix(const std::string& shim, const std::string& rules,
                                     const std::string& log, const std::string& role,
                                     std::uint64_t seed) {
  // In ASan builds the shim comes before the ASan runtime in the load
  // order, which ASan refuses unless told that is intended.
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string asan_options = std::string(asan && *asan ? asan : "") + (asan && *asan ? ":" : "") +
                             "verify_asan_link_order=0";
  return {"/usr/bin/env",
          "ASAN_OPTIONS=" + asan_options,
          "LD_PRELOAD=" + shim,
          "FAULTMUX_FAULTS=" + rules,
          "FAULTMUX_FAULT_LOG=" + log,
          "FAULTMUX_ROLE=" + role,
          "FAULTMUX_SEED=" + std::to_string(seed)};
}

long peak_rss_kib(pid_t pid) {
  return status_kib(pid, "VmHWM");
}

::testing::AssertionResult mux_serves(const std::string& socket, std::uint32_t echo_id) {
  if (!probe_handshake(socket, ms(5000)))
    return ::testing::AssertionFailure() << "no handshake with a probe client on " << socket;
  try {
    auto c = streams::raw_client::connect_as(socket, streams::raw_client::fake_pid());
    return streams::echo_round_trip(c, echo_id, streams::pattern(echo_id, 100), 4000, ms(5000));
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "probe client: " << e.what();
  }
}

bool wait_stopped(pid_t pid, ms timeout) {
  return eventually([&] { return process_state(pid) == 'T'; }, timeout);
}

}  // namespace faultmux::test::fault
