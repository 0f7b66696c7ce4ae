// Test helpers for the listener and client tests: a real `faultmux mux`
// process observed through its events file and stderr, and raw AF_UNIX
// clients that can misbehave in ways connect_unix never would.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "roles/process.hpp"
#include "mux/fd.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test {

using json = nlohmann::json;

// Starts argv with its stdout captured and its stderr appended to
// stderr_path, so a test can read what a person would see on the terminal.
child_process spawn_logged(const std::vector<std::string>& argv, const std::string& stderr_path);

// Every complete JSON line of an events file (a line still being written
// is skipped).
std::vector<json> read_events(const std::string& path);
// Polls the events file until an event satisfies pred; nullopt on timeout.
std::optional<json> wait_event(const std::string& events_path,
                               const std::function<bool(const json&)>& pred,
                               std::chrono::milliseconds timeout);

struct mux_config {
  std::vector<std::string> prefix;  // a command that execs the mux, e.g. prlimit
  std::string socket;               // default <dir>/<name>.sock
  std::string name = "mux";         // names <dir>/<name>.events and .stderr
};

// A `faultmux mux` process that has printed `listening PATH`.
class mux_process {
 public:
  // Runs `prefix... faultmux mux --listen SOCKET --events <dir>/<name>.events
  // args...` with stderr to <dir>/<name>.stderr. Throws std::runtime_error
  // with the mux's stderr when it does not listen.
  explicit mux_process(const run_dir& dir, std::vector<std::string> args = {}, mux_config cfg = {});

  child_process& proc() { return proc_; }
  pid_t pid() const { return proc_.pid(); }
  const std::string& socket_path() const { return socket_; }
  const std::string& events_path() const { return events_; }

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

 private:
  std::string socket_, events_, stderr_;
  child_process proc_;
};

// Polls cond every few milliseconds until it holds; false on timeout.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// Open descriptors of a process numbered below `below`, from /proc. Against
// RLIMIT_NOFILE count only those below the limit: a descriptor inherited with a
// higher number is open but takes no slot accept() could use.
int open_fd_count(pid_t pid, int below = 1 << 30);
// The one-letter state from /proc/PID/stat ('T' when stopped), or '?'.
char process_state(pid_t pid);

// --- raw clients -----------------------------------------------------------

// The listener's 12-byte reply.
struct identity {
  std::uint32_t context_id = 0;
  std::uint32_t parent_id = 0;
  std::uint32_t parent_pid = 0;
};

std::array<std::uint8_t, 4> be32(std::uint32_t v);

// connect() on a new AF_UNIX stream socket. On failure the fd is empty and
// *err (when given) holds the errno.
unique_fd raw_connect(const std::string& path, bool nonblocking = false, int* err = nullptr);
// Sends every byte (waiting with poll on a non-blocking socket); false on error.
bool send_all(int fd, const void* data, std::size_t len);
bool send_pid(int fd, std::uint32_t pid);
// Reads the 12 identity bytes; nullopt on EOF, error or timeout.
std::optional<identity> read_identity(int fd, std::chrono::milliseconds timeout);
// True when the peer closes (EOF or ECONNRESET) within the timeout; any data
// that arrives first is read and discarded.
bool wait_peer_closed(int fd, std::chrono::milliseconds timeout);
// True when nothing (no data, no hangup) is readable within the timeout.
bool stays_quiet(int fd, std::chrono::milliseconds timeout);
// A whole, well-behaved handshake with our own pid; nullopt on any failure.
std::optional<identity> probe_handshake(const std::string& path,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                        unique_fd* keep = nullptr);

}  // namespace faultmux::test
