// A real mux process for the tests and benchmarks: `faultmux mux` (or
// another listener, such as Mitogen's) started with a config, observed
// through its events file, stderr and /proc, and stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "roles/process.hpp"
#include "tests/support/events.hpp"
#include "tests/support/process_support.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test {

struct mux_config {
  std::vector<std::string> prefix;  // a command that execs the mux, e.g. prlimit
  std::string socket;               // default <dir>/<name>.sock
  std::string name = "mux";         // names <dir>/<name>.events and .stderr
  // Replaces `faultmux mux --events <dir>/<name>.events` (e.g. Mitogen's
  // listener); it is given `--listen SOCKET args...` too.
  std::vector<std::string> command;
  std::chrono::milliseconds listen_timeout = std::chrono::seconds(10);
  // On destruction: SIGCONT and SIGTERM, then this long for the mux to exit
  // on its own before the SIGKILL; zero kills at once.
  std::chrono::milliseconds term_grace{0};
};

// A config that only puts a command before the mux (the shim's environment,
// prlimit, `faultmux fault run`).
inline mux_config prefixed(std::vector<std::string> prefix) {
  mux_config cfg;
  cfg.prefix = std::move(prefix);
  return cfg;
}

// A mux process that has printed `listening PATH`.
class mux_process {
 public:
  // Runs `prefix... faultmux mux --listen SOCKET --events <dir>/<name>.events
  // args...` with stderr to <dir>/<name>.stderr. Throws std::runtime_error
  // with the mux's stderr when it does not listen.
  explicit mux_process(const run_dir& dir, std::vector<std::string> args = {}, mux_config cfg = {});
  ~mux_process();
  mux_process(mux_process&&) = default;

  child_process& proc() { return proc_; }
  pid_t pid() const { return proc_.pid(); }
  const std::string& socket_path() const { return socket_; }
  const std::string& events_path() const { return events_; }
  const std::string& stderr_path() const { return stderr_; }

  std::vector<json> events() const { return read_events(events_); }
  // The events named `name`, in file order.
  std::vector<json> events(std::string_view name) const;
  // Polls the events file until an event satisfies pred; nullopt on timeout.
  std::optional<json> wait_event(const std::function<bool(const json&)>& pred,
                                 std::chrono::milliseconds timeout) const;
  std::optional<json> wait_event(std::string_view name, std::chrono::milliseconds timeout) const;
  std::string stderr_text() const;
  // Not exited (a stopped process counts as alive).
  bool alive();
  // SIGSTOP, returning once /proc shows it stopped; throws after 5 s.
  void stop();
  void resume();
  // VmRSS / VmHWM (peak) in KiB, from /proc/<pid>/status; -1 when gone.
  long rss_kib() const;
  long peak_rss_kib() const;
  // "fd -> target" for each open descriptor, e.g. "12 -> socket:[4711]", sorted.
  std::vector<std::string> describe_fds() const;

 private:
  std::string socket_, events_, stderr_;
  std::chrono::milliseconds term_grace_;
  child_process proc_;
};

}  // namespace faultmux::test
