// Thousands of forks in one scenario: `faultmux run` of the 2000 x 200 echo
// scenario (bench/scenarios), spawn to verdict, with its phases from
// results.json, beside its floor in the same run: bench/scale_floor, the
// same number of client processes making the same round trips straight to
// four echo servers, with no mux, handshake, events or judging.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"
#include "roles/process.hpp"

namespace faultmux::bench {
namespace {

constexpr int scale_workers = 2000;
constexpr int scale_messages = 200;
const std::string scenario =
    std::string(FAULTMUX_SOURCE_DIR) + "/bench/scenarios/echo-2000x200.toml";

// Runs argv to its end; its stdout's lines, or throws when it failed.
std::vector<std::string> succeeded(const std::vector<std::string>& argv, const std::string& log) {
  auto r = run_to_end(argv, log, std::chrono::minutes(15));
  if (r.exit_code != 0) throw std::runtime_error(argv[0] + " failed: " + log_tail(log));
  return r.lines;
}

double floor_once(const temp_dir& dir) {
  auto lines = succeeded({FAULTMUX_SCALE_FLOOR, dir.path(), std::to_string(scale_workers),
                          std::to_string(scale_messages)},
                         dir.file("floor.stderr"));
  double spawn = 0, traffic = 0, total = 0;
  int failed = 0;
  if (lines.empty() ||
      std::sscanf(lines.back().c_str(), "spawn_s=%lf traffic_s=%lf total_s=%lf failed=%d", &spawn,
                  &traffic, &total, &failed) != 4)
    throw std::runtime_error("faultmux_scale_floor printed no figures");
  return total;
}

// Seconds spawn to verdict, and the judging phase's seconds.
std::pair<double, double> faultmux_once(const temp_dir& dir) {
  const double t0 = now_seconds();
  succeeded({FAULTMUX_BINARY, "run", scenario, "--report", dir.path()}, dir.file("run.stderr"));
  const double total = now_seconds() - t0;
  std::ifstream in(dir.path() + "/results.json");
  const auto results = nlohmann::json::parse(in);  // outlives the loop over its phases
  double judge = -1;
  for (const auto& phase : results["scenarios"][0]["phases"])
    if (phase["name"] == "judge") judge = phase["seconds"].get<double>();
  if (judge < 0) throw std::runtime_error("results.json has no judge phase");
  return {total, judge};
}

void scale_2000x200(benchmark::State& state) {
  try {
    temp_dir dir;
    double floor_s = 0, run_s = 0, judge_s = 0;
    for (auto _ : state) {
      floor_s += floor_once(dir);
      auto [total, judge] = faultmux_once(dir);
      run_s += total;
      judge_s += judge;
    }
    const double n = static_cast<double>(state.iterations());
    state.counters["run_s"] = run_s / n;
    state.counters["judge_s"] = judge_s / n;
    state.counters["floor_s"] = floor_s / n;
    record("scale.run_s", run_s / n);
    record("scale.judge_s", judge_s / n);
    record("scale.floor_s", floor_s / n);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_scale_benchmarks() {
  benchmark::RegisterBenchmark("scale_2000x200", scale_2000x200)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kSecond);
}

}  // namespace faultmux::bench
