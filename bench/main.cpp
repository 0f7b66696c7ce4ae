// faultmux_bench: registers the cases in the order their baselines must run
// (ratios use results recorded earlier in the same run), runs them, and ends
// with a summary of each case beside its baselines and target.
#include <signal.h>

#include <cstdio>
#include <optional>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/bench_support.hpp"

namespace {

using faultmux::bench::recorded;

std::string fmt_opt(std::optional<double> v, const char* spec, double scale = 1) {
  return v ? fmt::format(fmt::runtime(spec), *v * scale) : std::string("n/a");
}

std::string verdict(std::optional<double> ratio, bool met) {
  if (!ratio) return "n/a";
  return met ? "met" : "MISSED";
}

// On stderr, so that --benchmark_format=json keeps stdout parseable.
void print_summary() {
  auto raw_rtt = recorded("raw.rtt_p50_us"), fm_rtt = recorded("faultmux.rtt_p50_us"),
       mi_rtt = recorded("mitogen.rtt_p50_us");
  auto raw_bw = recorded("raw.oneway_Bps"), fm_bw = recorded("faultmux.oneway_Bps"),
       mi_bw = recorded("mitogen.oneway_Bps");
  auto cap = recorded("faultmux.capacity_rt_per_s");
  auto fm_storm = recorded("faultmux.storm_median_ms"),
       mi_storm = recorded("mitogen.storm_median_ms");

  std::optional<double> rtt_ratio, bw_ratio, storm_ratio;
  if (fm_rtt && raw_rtt) rtt_ratio = *fm_rtt / *raw_rtt;
  if (fm_bw && raw_bw) bw_ratio = *fm_bw / *raw_bw;
  if (fm_storm && mi_storm) storm_ratio = *fm_storm / *mi_storm;

  const char* row = "{:<26} {:<16} {:<34} {:<22} {}\n";
  std::string out =
      "\nSummary (ratios within this run; the machine is shared, absolute numbers are "
      "noisy)\n";
  out += fmt::format(fmt::runtime(row), "case", "faultmux", "baseline(s)", "ratio", "target");
  out += fmt::format(
      fmt::runtime(row), "routed RTT 64 B (p50)", fmt_opt(fm_rtt, "{:.1f} us"),
      "raw " + fmt_opt(raw_rtt, "{:.1f} us") + ", mitogen " + fmt_opt(mi_rtt, "{:.1f} us"),
      fmt_opt(rtt_ratio, "{:.2f}x raw") +
          (mi_rtt && raw_rtt ? fmt::format(" (mitogen {:.2f}x)", *mi_rtt / *raw_rtt) : ""),
      "<= 2.5x raw: " + verdict(rtt_ratio, rtt_ratio && *rtt_ratio <= 2.5));
  out += fmt::format(fmt::runtime(row), "1 MiB one way", fmt_opt(fm_bw, "{:.2f} GB/s", 1e-9),
                     "raw " + fmt_opt(raw_bw, "{:.2f} GB/s", 1e-9) + ", mitogen " +
                         fmt_opt(mi_bw, "{:.3f} GB/s", 1e-9),
                     fmt_opt(bw_ratio, "{:.2f} of raw") +
                         (fm_bw && mi_bw ? fmt::format(" ({:.0f}x mitogen)", *fm_bw / *mi_bw) : ""),
                     ">= 1.5 GB/s: " + verdict(fm_bw, fm_bw && *fm_bw >= 1.5e9));
  out +=
      fmt::format(fmt::runtime(row), "capacity 16 x 64 in flight", fmt_opt(cap, "{:.0f} rt/s"),
                  cap ? fmt::format("= {:.0f} msgs/s via the mux", 2 * *cap) : "", "", "none set");
  out += fmt::format(
      fmt::runtime(row), "storm 1000 clients (p50)", fmt_opt(fm_storm, "{:.1f} ms"),
      "mitogen " + fmt_opt(mi_storm, "{:.1f} ms"), fmt_opt(storm_ratio, "{:.2f}x mitogen"),
      "<= 0.5x mitogen: " + verdict(storm_ratio, storm_ratio && *storm_ratio <= 0.5));
  std::fputs(out.c_str(), stderr);
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that vanishes must be an EPIPE we report, never a signal.
  ::signal(SIGPIPE, SIG_IGN);
  faultmux::bench::raise_fd_limit();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  faultmux::bench::register_raw_benchmarks();
  faultmux::bench::register_routed_benchmarks();
  faultmux::bench::register_storm_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  print_summary();
  benchmark::Shutdown();
  return 0;
}
