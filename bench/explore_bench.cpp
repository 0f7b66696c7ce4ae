// Explore throughput: the whole single-fault exploration of the plain
// scenario with --jobs 2 (`faultmux explore`, as a user runs it), in
// single-fault runs per minute, beside its baseline in the same run: one
// plain `faultmux run` of the same scenario, end to end.
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"
#include "roles/process.hpp"

namespace faultmux::bench {
namespace {

const std::string plain = std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/plain-echo.toml";

// Runs faultmux with `args` to its end (bounded); its exit code.
int faultmux(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> argv{FAULTMUX_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_to_end(argv, dir + "/stderr", std::chrono::minutes(10)).exit_code;
}

void plain_run(benchmark::State& state) {
  try {
    temp_dir dir;
    double total = 0;
    int n = 0;
    for (auto _ : state) {
      auto t0 = std::chrono::steady_clock::now();
      if (faultmux({"run", plain}, dir.path()) != 0) throw std::runtime_error("plain run failed");
      total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++n;
    }
    state.counters["run_ms"] = total / n * 1000;
    record("explore.plain_run_ms", total / n * 1000);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void explore_all(benchmark::State& state) {
  try {
    temp_dir dir;
    double seconds = 0;
    std::size_t runs = 0;
    for (auto _ : state) {
      auto t0 = std::chrono::steady_clock::now();
      int rc = faultmux({"explore", plain, "--jobs", "2", "--report", dir.path()}, dir.path());
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rc != 0) throw std::runtime_error("the exploration found violations or failed");
      std::ifstream in(dir.path() + "/results.json");
      runs = nlohmann::json::parse(in)["explore"][0]["certificate"]["runs"].get<std::size_t>();
    }
    state.counters["runs"] = static_cast<double>(runs);
    state.counters["runs_per_min"] = runs / seconds * 60;
    record("explore.runs_per_min", runs / seconds * 60);
    record("explore.seconds", seconds);
    record("explore.runs", static_cast<double>(runs));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_explore_benchmarks() {
  benchmark::RegisterBenchmark("explore_plain/one_run", plain_run)
      ->Iterations(5)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("explore_plain/jobs2", explore_all)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace faultmux::bench
