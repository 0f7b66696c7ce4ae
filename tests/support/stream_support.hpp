// Helpers for the stream and shutdown integration tests: raw protocol
// clients that can misbehave on purpose, and `faultmux worker` processes for
// well-behaved load, beside the shared mux process (mux_process.hpp). Every
// wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mux/fd.hpp"
#include "mux/frame.hpp"
#include "mux/message.hpp"
#include "roles/process.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test::streams {

using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using event_pred = std::function<bool(const json&)>;

// The events matching pred.
std::vector<json> filter(const std::vector<json>& events, const event_pred& pred);
// True when e is a "log" event of level warning or above.
bool is_problem_log(const json& e);
// e's string field `key`, or "" when missing or not a string.
std::string str(const json& e, const char* key);

// The shared mux process and event reader (tests/support/mux_process.hpp).
using test::mux_process;
using test::read_events;

// A protocol client in the test process. It speaks raw frames, so a test can
// make it stall, lie, send garbage or vanish at any byte.
class raw_client {
 public:
  // Handshakes with connect_unix (the stream is named after our real pid).
  static raw_client connect(const std::string& path);
  // Handshakes by hand, sending `pid` instead of ours: several clients of one
  // test process then get distinct stream names in the mux's logs.
  static raw_client connect_as(const std::string& path, std::uint32_t pid);
  // A pid no real process has (above pid_max), unique within this test run.
  static std::uint32_t fake_pid();

  raw_client() = default;
  raw_client(raw_client&&) = default;
  raw_client& operator=(raw_client&&) = default;

  std::uint32_t id() const { return id_; }
  std::uint32_t mux_id() const { return mux_id_; }
  std::uint32_t pid() const { return pid_; }
  // The mux's name for this client's stream.
  std::string stream_name() const { return "unix_client." + std::to_string(pid_); }
  int fd() const { return fd_.get(); }
  bool is_open() const { return static_cast<bool>(fd_); }

  // Sends m as this client (src_id = auth_id = id()); see write().
  bool send(message m, ms timeout = ms(10000), bool read_meanwhile = true);
  // Writes bytes exactly as given. With read_meanwhile, whatever arrives is
  // read and kept, so a large echo cannot deadlock the write. False when the
  // socket failed or the timeout passed before everything was written.
  bool write(std::string_view bytes, ms timeout = ms(10000), bool read_meanwhile = true);
  // Waits until the mux has read everything written so far (SIOCOUTQ = 0),
  // so that the next write cannot be coalesced with the previous one.
  bool wait_drained(ms timeout = ms(5000));
  // The next message, ADD_ROUTE/DEL_ROUTE skipped unless keep_routes.
  std::optional<message> receive(ms timeout = ms(10000), bool keep_routes = false);
  // A message already read and decoded, without touching the socket.
  std::optional<message> take();
  // Waits for the first byte from the mux without consuming it.
  bool wait_readable(ms timeout);
  // Reads and discards until the mux closes the connection; true on EOF or
  // a connection error within timeout.
  bool wait_closed(ms timeout);
  // Reads at most `max` bytes into the decoder (when any are waiting within timeout).
  std::size_t read_some(std::size_t max, ms timeout);
  bool peer_closed() const { return eof_ || error_ != 0; }
  // Closes the socket without reading what is waiting.
  void close() { fd_.reset(); }

 private:
  bool fill(std::size_t max, int timeout_ms);

  unique_fd fd_;
  std::uint32_t id_ = 0, mux_id_ = 0, pid_ = 0;
  frame_decoder decoder_;
  std::deque<message> inbox_;
  bool eof_ = false;
  int error_ = 0;
};

// A deterministic body of `size` bytes, different for every seed.
std::string pattern(std::uint64_t seed, std::size_t size);
// A message to dst's handle, with reply_to set when asked.
message to(std::uint32_t dst, std::uint32_t handle, std::string body, std::uint32_t reply_to = 0);

// The mux answers a message to a handle it does not have with a dead
// `invalid handle` only after routing everything c sent before it: once the
// answer is back, every earlier message has been through the router.
// Messages read on the way are appended to `seen` when given.
::testing::AssertionResult sync_with_mux(raw_client& c, std::vector<message>* seen = nullptr,
                                         ms timeout = ms(10000));
// Sends body to the echo handle of `echo_id` and checks that the same bytes
// come back from it, to reply_to.
::testing::AssertionResult echo_round_trip(raw_client& c, std::uint32_t echo_id,
                                           const std::string& body, std::uint32_t reply_to = 4000,
                                           ms timeout = ms(10000));
// Checks that the next message c receives is the echo of body.
::testing::AssertionResult expect_echo(raw_client& c, std::uint32_t echo_id,
                                       const std::string& body, std::uint32_t reply_to,
                                       ms timeout = ms(10000));

// Event predicates.
event_pred disconnect_of(const std::string& stream);
// A warning or error log line containing `stream` and, when given, one of `any_of`.
event_pred problem_naming(const std::string& stream, const std::vector<std::string>& any_of = {});

// A `faultmux worker` serving echo on handle 1000.
struct echo_worker {
  child_process proc;
  std::uint32_t id = 0;
};
// Starts an echo worker and reads its "context_id=N parent_id=M" line.
// Throws std::runtime_error when the line does not come.
echo_worker start_worker(const std::string& socket,
                         const std::vector<std::string>& extra_args = {});
// A worker running the checked workload against `peer`'s echo handle,
// appending its events to `events` when given.
child_process start_load(const std::string& socket, std::uint32_t peer, int count, std::size_t size,
                         int in_flight, const std::string& events = {});

// Waits for every process within one shared deadline; counts those that
// exited 0. A process still running counts as a failure.
int count_clean_exits(std::vector<child_process>& procs, ms timeout);
// "exit 0", "killed by SIGKILL" or "still running".
std::string status_text(const std::optional<int>& status);

// Workers running checked workloads against a set of echo workers, all
// writing one events file, so a test can tell when each workload ended.
class load_group {
 public:
  // Starts n workers, worker i against echoes[i % size], and returns once
  // every one has connected. The echo workers are stopped meanwhile, so
  // that no workload can finish before the last one has started: all run
  // together from the return on.
  load_group(const run_dir& dir, const std::string& socket, std::vector<echo_worker>& echoes, int n,
             int count);
  // Waits for every worker; how many exited 0.
  int clean_exits(ms timeout) { return count_clean_exits(procs_, timeout); }
  // CLOCK_MONOTONIC time of the first workload_done, or nullopt.
  std::optional<double> first_done() const;
  std::size_t size() const { return procs_.size(); }

 private:
  std::string events_;
  std::vector<child_process> procs_;
};

}  // namespace faultmux::test::streams
