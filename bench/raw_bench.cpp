// Baselines: two processes on an AF_UNIX socketpair with nothing in between,
// for their absolute numbers. The routed cases also interleave the same raw
// exchanges with their own iterations and report ratios to those.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"

namespace faultmux::bench {
namespace {

// 64 bytes to a child that echoes them, on one CPU like the routed case.
void raw_rtt(benchmark::State& state) {
  try {
    one_cpu pin;
    forked_peer peer(raw_echo_peer);
    for (int i = 0; i < rtt_warmup; ++i) raw_round_trip(peer.fd());
    std::vector<double> rtts;
    rtts.reserve(static_cast<std::size_t>(state.max_iterations));
    for (auto _ : state) rtts.push_back(raw_round_trip(peer.fd()));
    report_rtt(state, "raw", rtts);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// 1 MiB messages to a child that acknowledges each with one byte, so the
// sender runs with the same window as the routed case.
void raw_oneway(benchmark::State& state) {
  try {
    forked_peer peer(raw_sink_peer);
    std::string msg(big_size, 'x');
    raw_batch(peer.fd(), msg);  // warm up
    double start = now_seconds();
    for (auto _ : state) raw_batch(peer.fd(), msg);
    report_oneway(state, "raw", now_seconds() - start);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_raw_benchmarks() {
  benchmark::RegisterBenchmark("rtt_64B/raw_socketpair", raw_rtt)
      ->Iterations(raw_rtt_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("oneway_1MiB/raw_socketpair", raw_oneway)
      ->Iterations(raw_oneway_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace faultmux::bench
