// Spawning many forks: N workers started as the driver starts them
// (child_process::spawn of faultmux-worker, stdout captured, stderr to a
// file, the worker's environment added), one at a time and with spawn_all
// two at once, beside the floor in the same run: N sequential posix_spawns
// of /bin/true, and of the faultmux binary itself (what `faultmux worker`
// would cost). Blocks of each are interleaved, so a change in the shared
// machine's load hits all three alike. Timed: the spawn calls (posix_spawn
// returns once the child has exec'd); the workers' own start-up overlaps
// later spawns, as in a scenario, and their reaping is untimed.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "roles/process.hpp"

extern char** environ;

namespace faultmux::bench {
namespace {

constexpr int spawn_count = 200;  // per block
constexpr int spawn_blocks = 3;

// N posix_spawns of /bin/true, timed; then reaped, untimed.
double true_block(int n) {
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  std::vector<pid_t> pids(static_cast<std::size_t>(n));
  const double t0 = now_seconds();
  for (auto& pid : pids)
    if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) pid = -1;
  const double t = now_seconds() - t0;
  for (pid_t pid : pids)
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  return t;
}

// N posix_spawns of the faultmux binary itself (`faultmux --version`, no
// file actions), timed; then reaped, untimed: what exec'ing this binary
// costs whoever spawns it, the floor of any spawn of its workers.
double binary_block(int n) {
  char* argv[] = {const_cast<char*>(FAULTMUX_BINARY), const_cast<char*>("--version"), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<pid_t> pids(static_cast<std::size_t>(n));
  const double t0 = now_seconds();
  for (auto& pid : pids)
    if (::posix_spawn(&pid, FAULTMUX_BINARY, &fa, nullptr, argv, environ) != 0) pid = -1;
  const double t = now_seconds() - t0;
  posix_spawn_file_actions_destroy(&fa);
  for (pid_t pid : pids)
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  return t;
}

std::vector<spawn_request> worker_requests(const mux_process& mux, const temp_dir& dir, int n) {
  std::vector<spawn_request> out;
  for (int i = 0; i < n; ++i)
    out.push_back(
        {{FAULTMUX_WORKER_BINARY, "worker", "--connect", mux.path(), "--events", "/dev/null"},
         true,
         dir.file(fmt::format("w{}.stderr", i)),
         {fmt::format("FAULTMUX_PEER=good:{}", i)}});
  return out;
}

// N workers, `parallel` at once, timed; then ended and reaped, untimed.
double worker_block(const std::vector<spawn_request>& requests, int parallel) {
  const double t0 = now_seconds();
  std::vector<child_process> ws = spawn_all(requests, parallel);
  const double t = now_seconds() - t0;
  for (auto& w : ws) w.signal(SIGTERM);
  for (auto& w : ws) w.wait(std::chrono::seconds(10));
  return t;
}

void spawn_workers(benchmark::State& state) {
  try {
    temp_dir dir;
    mux_process mux(mux_kind::faultmux, dir, spawn_count);
    const auto requests = worker_requests(mux, dir, spawn_count);
    double floor_s = 0, binary_s = 0, one_s = 0, two_s = 0;
    for (auto _ : state) {
      for (int b = 0; b < spawn_blocks; ++b) {
        floor_s += true_block(spawn_count);
        binary_s += binary_block(spawn_count);
        one_s += worker_block(requests, 1);
        two_s += worker_block(requests, 2);
      }
    }
    const double n = static_cast<double>(state.iterations()) * spawn_blocks * spawn_count;
    state.counters["true_ms_per"] = floor_s / n * 1e3;
    state.counters["seq_ms_per"] = one_s / n * 1e3;
    state.counters["par2_ms_per"] = two_s / n * 1e3;
    state.counters["seq_ratio"] = one_s / floor_s;
    state.counters["par2_ratio"] = two_s / floor_s;
    record("spawn.true_ms_per", floor_s / n * 1e3);
    record("spawn.binary_ms_per", binary_s / n * 1e3);
    record("spawn.seq_ms_per", one_s / n * 1e3);
    record("spawn.par2_ms_per", two_s / n * 1e3);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_spawn_benchmarks() {
  benchmark::RegisterBenchmark("spawn_200_workers", spawn_workers)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace faultmux::bench
