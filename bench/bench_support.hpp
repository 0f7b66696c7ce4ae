// Shared pieces of the benchmarks: a private run directory, the muxes under
// test (faultmux's and Mitogen 0.3.3's) and workers as owned child processes,
// a blocking frame client for the benchmark process itself, raw socketpair
// peers, and a registry of results for the summary at the end of a run.
//
// The machine is shared, and its load changes within seconds: a baseline
// measured a few seconds before a case can be off by a factor of five. So
// each routed case interleaves its baseline with its own iterations (paired
// measurement) and reports the ratio of the two; the stand-alone baseline
// cases remain for their absolute numbers.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "mux/frame.hpp"
#include "mux/message.hpp"
#include "roles/process.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/process_support.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::bench {

using namespace std::chrono_literals;

// The tests' private run directory under $TMPDIR (default /tmp), named for
// the benchmarks.
class temp_dir : public test::run_dir {
 public:
  temp_dir() : run_dir("faultmux-bench") {}
};

// Pins this process, and so the children it starts, to one CPU it may use;
// restores the previous set on destruction. The round-trip cases run so:
// on two cores, where each process of a chain lands decides how many hops
// cross cores, and a crossing wakeup costs about 20 us here against 2 for a
// switch on one CPU, so unpinned ratios say more about the scheduler than
// about the mux.
class one_cpu {
 public:
  one_cpu();
  ~one_cpu();
  one_cpu(const one_cpu&) = delete;
  one_cpu& operator=(const one_cpu&) = delete;
  int cpu() const { return pinned_ ? cpu_ : -1; }

 private:
  cpu_set_t old_{};
  bool pinned_ = false;
  int cpu_ = -1;
};

// Raises the soft RLIMIT_NOFILE to the hard limit; children started later
// inherit it, which the handshake storm needs on both ends.
void raise_fd_limit();

double now_seconds();  // CLOCK_MONOTONIC

// CPU a process has used so far, all threads: on-CPU time from schedstat
// (nanoseconds), the user/system split and minor page faults from stat.
struct cpu_usage {
  double run_s = 0;
  double user_s = 0;
  double sys_s = 0;
  double minor_faults = 0;
};
cpu_usage cpu_of(pid_t pid);
// Sets "<prefix>_cpu_us" (on-CPU time per item), "<prefix>_sys_pct" and
// "<prefix>_faults" (minor page faults per item) for what `pid` used between
// `before` and now: where a message's time goes.
void report_cpu(benchmark::State& state, const std::string& prefix, pid_t pid,
                const cpu_usage& before, double items);

// splice: bench/splice_relay, the capacity floor (a handshake, then bytes spliced).
enum class mux_kind { faultmux, mitogen, splice };
const char* mux_name(mux_kind k);

// Children's stderr goes to a log file, out of the benchmark report but at
// hand to quote when something fails.
using test::spawn_logged;

// The last lines of a log file, for error messages.
std::string log_tail(const std::string& log, std::size_t max_bytes = 600);

// A program run to its end: its exit code and its stdout's lines.
struct finished_run {
  int exit_code = 0;
  std::vector<std::string> lines;
};
// Runs argv (stderr to `log`) until it exits, within `timeout`; throws, with
// the log's tail, when it does not or is killed by a signal.
finished_run run_to_end(const std::vector<std::string>& argv, const std::string& log,
                        std::chrono::minutes timeout);

// A running mux (ours or Mitogen's) listening in a temp_dir; its stderr goes
// to <dir>/<kind>.stderr. The destructor sends SIGTERM, waits a bounded time,
// and leaves SIGKILL and reaping to child_process.
class mux_process : public test::mux_process {
 public:
  mux_process(mux_kind kind, const temp_dir& dir, int backlog);

  mux_kind kind() const { return kind_; }
  const std::string& path() const { return socket_path(); }
  const std::string& log() const { return stderr_path(); }
  // Its open sockets, to see when it has released every client of a
  // finished storm. Only sockets: faultmux creates its signal pipe just
  // after it says "listening".
  int open_sockets() const;

 private:
  mux_kind kind_;
};

// A `faultmux worker` serving the echo handle (1000). With ack_only it
// replies with an empty body. SIGTERM and a bounded wait on destruction.
class echo_worker {
 public:
  echo_worker(const std::string& socket, const std::string& log, bool ack_only = false);
  ~echo_worker();
  echo_worker(echo_worker&&) = default;
  std::uint32_t context_id() const { return context_id_; }
  pid_t pid() const { return proc_.pid(); }

 private:
  child_process proc_;
  std::uint32_t context_id_ = 0;
};

// The benchmark process as a worker: connected with connect_unix, switched to
// blocking I/O because it only ever waits for one thing at a time.
class frame_client {
 public:
  explicit frame_client(const std::string& socket);
  ~frame_client();
  frame_client(const frame_client&) = delete;
  frame_client& operator=(const frame_client&) = delete;

  std::uint32_t context_id() const { return context_id_; }
  int fd() const { return fd_; }

  // A frame from us to `dst`'s `handle`, replies to `reply_to`.
  std::string frame(std::uint32_t dst, std::uint32_t handle, std::uint32_t reply_to,
                    std::string body) const;
  void send_all(std::string_view bytes);
  // Blocks until a message for `handle` arrives; a dead one throws with its
  // reason. Messages for other handles (route updates) are skipped.
  message read_reply(std::uint32_t handle);
  // Decodes whatever is readable right now (blocking only when `block`) and
  // returns how many messages for `handle` arrived.
  int poll_replies(std::uint32_t handle, bool block);

 private:
  void fill(bool block);

  int fd_ = -1;
  std::uint32_t context_id_ = 0;
  frame_decoder decoder_;
  std::vector<message> ready_;
  std::size_t next_ = 0;
  std::vector<std::uint8_t> buf_;
};

// A forked child running `body(fd)` on its end of a socketpair and holding
// no other descriptor (so it cannot keep a mux connection open); it exits
// on EOF, is killed if it has not within 2 s, and is reaped on destruction.
class forked_peer {
 public:
  template <class F>
  explicit forked_peer(F body) {
    start();
    if (pid_ == 0) {
      try {
        body(child_fd_);
      } catch (...) {
        // The parent sees EOF and reports the failure; nothing may unwind
        // into the benchmark's own frames in this copy of the process.
      }
      run_exit();
    }
  }
  ~forked_peer();
  forked_peer(const forked_peer&) = delete;
  forked_peer& operator=(const forked_peer&) = delete;
  int fd() const { return parent_fd_; }

 private:
  void start();
  [[noreturn]] static void run_exit();
  pid_t pid_ = -1;
  int parent_fd_ = -1;
  int child_fd_ = -1;
};

// Bodies for forked_peer: echo 64-byte pings until EOF; read big_size
// messages and acknowledge each with one byte.
void raw_echo_peer(int fd);
void raw_sink_peer(int fd);
// The least any relay adds, as a body for forked_peer: it forks a
// raw_echo_peer and forwards between the two sockets with a level-triggered
// epoll loop, one epoll_wait, recv and send per pass, with no framing,
// routing or buffering. A 64-byte round trip through it takes the same four
// hops as one routed through a mux to a worker, so it is the floor for that.
void relay_floor_peer(int fd);

void write_all(int fd, const void* data, std::size_t n);
void read_exact(int fd, void* data, std::size_t n);

// Sends `count` copies of `msg` with at most `window` unacknowledged, then
// waits for the last acknowledgement. `acks(block)` returns how many arrived.
template <class Acks>
void send_windowed(int fd, std::string_view msg, int count, int window, Acks&& acks) {
  int sent = 0, acked = 0;
  while (acked < count) {
    if (sent < count && sent - acked < window) {
      write_all(fd, msg.data(), msg.size());
      ++sent;
      acked += acks(false);
    } else {
      acked += acks(true);
    }
  }
}

// Case parameters, kept modest so the whole run stays within a few minutes
// on a shared two-core machine.
inline constexpr std::size_t rtt_size = 64;
inline constexpr int rtt_warmup = 500;
inline constexpr int raw_rtt_iterations = 50000;
inline constexpr int faultmux_rtt_iterations = 50000;
inline constexpr int mitogen_rtt_iterations = 20000;
inline constexpr std::size_t big_size = 1 << 20;
inline constexpr int big_batch = 16;  // messages per iteration, all acknowledged
inline constexpr int big_window = 8;  // unacknowledged messages at most
inline constexpr int raw_oneway_iterations = 200;
inline constexpr int faultmux_oneway_iterations = 100;
inline constexpr int mitogen_oneway_iterations = 20;

// One 64-byte round trip with a raw_echo_peer, in seconds.
double raw_round_trip(int fd);
// One batch (big_batch messages of big_size, big_window unacknowledged) to
// a raw_sink_peer.
void raw_batch(int fd, std::string_view msg);
// Every this many routed round trips, as many raw ones are interleaved.
inline constexpr int paired_block = 64;

// Sets the latency counters (p50/p99/mean in us) and, given the round trips
// of a raw socketpair and of a relay_floor_peer interleaved with them, the
// ratios to those; records "<who>.rtt_p50_us", "<who>.raw_p50_us" and
// "<who>.floor_p50_us".
void report_rtt(benchmark::State& state, const std::string& who, const std::vector<double>& rtts,
                const std::vector<double>& raw_rtts = {},
                const std::vector<double>& floor_rtts = {});
// Sets bytes/s and GB/s (decimal) for big_batch * big_size bytes per
// iteration taking `seconds` in all and, given the time the same batches
// took over a raw socketpair interleaved with them, the ratio to that rate;
// records "<who>.oneway_Bps" and "<who>.raw_Bps".
void report_oneway(benchmark::State& state, const std::string& who, double seconds,
                   double raw_seconds = 0);

// Each file registers its cases; main() calls these in report order.
void register_raw_benchmarks();
void register_routed_benchmarks();
void register_storm_benchmarks();
void register_call_benchmarks();
void register_idle_benchmarks();
void register_pickle_benchmarks();
void register_explore_benchmarks();
void register_spawn_benchmarks();
void register_scale_benchmarks();

// Results of the cases of one run for the summary, e.g. "faultmux.rtt_p50_us".
void record(const std::string& key, double value);
std::optional<double> recorded(const std::string& key);

// Sorted copy's q-quantile (0..1); 0 for an empty input.
double quantile(std::vector<double> v, double q);

}  // namespace faultmux::bench
