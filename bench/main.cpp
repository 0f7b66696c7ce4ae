// faultmux_bench: registers the cases in the order their baselines must run
// (ratios use results recorded earlier in the same run), runs them, and ends
// with a summary of each case beside its baselines and target.
#include <malloc.h>
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

std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
  if (a && b && *b > 0) return *a / *b;
  return std::nullopt;
}

// The relay floor's own ratio to raw: what no relay on this machine beats.
std::string floor_note(std::optional<double> floor, std::optional<double> raw) {
  auto f = ratio(floor, raw);
  return f ? fmt::format(" (floor {:.2f}x)", *f) : std::string();
}

// One summary row: case, faultmux figure, baseline(s), ratio, target.
std::string row(const std::string& label, const std::string& figure, const std::string& baseline,
                const std::string& ratio_text, const std::string& target) {
  return fmt::format("{:<28} {:<13} {:<58} {:<26} {}\n", label, figure, baseline, ratio_text,
                     target);
}

// When even the splice relay (no routing at all) cannot carry 15 times
// Mitogen's capacity with these workers on this machine, no mux can.
std::string capacity_floor_note(std::optional<double> floor, std::optional<double> mitogen) {
  auto r = ratio(floor, mitogen);
  if (!r || *r >= 15) return "";
  return fmt::format(" (unreachable here: the floor is {:.1f}x mitogen)", *r);
}

// Routed round trip, one-way bandwidth, capacity and the connect storm.
std::string routed_rows() {
  auto fm_rtt = recorded("faultmux.rtt_p50_us"), fm_raw_rtt = recorded("faultmux.raw_p50_us"),
       fm_floor_rtt = recorded("faultmux.floor_p50_us");
  auto mi_rtt = recorded("mitogen.rtt_p50_us"), mi_raw_rtt = recorded("mitogen.raw_p50_us");
  auto fm_bw = recorded("faultmux.oneway_Bps"), fm_raw_bw = recorded("faultmux.raw_Bps");
  auto mi_bw = recorded("mitogen.oneway_Bps"), mi_raw_bw = recorded("mitogen.raw_Bps");
  auto cap = recorded("faultmux.capacity_rt_per_s");
  auto fm_storm = recorded("faultmux.storm_median_ms"),
       mi_storm = recorded("faultmux.storm_paired_ms");
  auto rtt_ratio = ratio(fm_rtt, fm_raw_rtt), mi_rtt_ratio = ratio(mi_rtt, mi_raw_rtt);
  auto bw_ratio = ratio(fm_bw, fm_raw_bw), mi_bw_ratio = ratio(mi_bw, mi_raw_bw);
  auto storm_ratio = ratio(fm_storm, mi_storm);

  std::string out =
      row("routed RTT 64 B, p50", fmt_opt(fm_rtt, "{:.1f} us"),
          "raw " + fmt_opt(fm_raw_rtt, "{:.1f} us") + "; floor " +
              fmt_opt(fm_floor_rtt, "{:.1f} us") + "; mitogen " + fmt_opt(mi_rtt, "{:.1f} us") +
              " (raw " + fmt_opt(mi_raw_rtt, "{:.1f} us") + ")",
          fmt_opt(rtt_ratio, "{:.2f}x raw") + "; mitogen " + fmt_opt(mi_rtt_ratio, "{:.2f}x"),
          "<= 2.5x raw: " + verdict(rtt_ratio, rtt_ratio && *rtt_ratio <= 2.5) +
              floor_note(fm_floor_rtt, fm_raw_rtt));
  out += row("1 MiB one way, window 8", fmt_opt(fm_bw, "{:.2f} GB/s", 1e-9),
             "raw " + fmt_opt(fm_raw_bw, "{:.2f} GB/s", 1e-9) + "; mitogen " +
                 fmt_opt(mi_bw, "{:.2f} GB/s", 1e-9) + " (raw " +
                 fmt_opt(mi_raw_bw, "{:.2f}", 1e-9) + ")",
             fmt_opt(bw_ratio, "{:.2f} of raw") + "; mitogen " + fmt_opt(mi_bw_ratio, "{:.2f}"),
             ">= 1.5 GB/s: " + verdict(fm_bw, fm_bw && *fm_bw >= 1.5e9));
  auto mi_cap = recorded("mitogen.capacity_rt_per_s");
  auto floor_cap = recorded("splice.capacity_rt_per_s");
  auto cap_ratio = ratio(cap, mi_cap);
  out += row("capacity 16 x 64 in flight", fmt_opt(cap, "{:.0f} rt/s"),
             "mitogen " + fmt_opt(mi_cap, "{:.0f} rt/s") + ", same workers; floor " +
                 fmt_opt(floor_cap, "{:.0f} rt/s"),
             fmt_opt(cap_ratio, "{:.1f}x mitogen") + "; " +
                 fmt_opt(ratio(cap, floor_cap), "{:.2f}") + " of floor",
             ">= 15x mitogen: " + verdict(cap_ratio, cap_ratio && *cap_ratio >= 15) +
                 capacity_floor_note(floor_cap, mi_cap));
  out += row("storm 1000 clients, median", fmt_opt(fm_storm, "{:.1f} ms"),
             "mitogen " + fmt_opt(mi_storm, "{:.1f} ms"), fmt_opt(storm_ratio, "{:.2f}x mitogen"),
             "<= 0.5x mitogen: " + verdict(storm_ratio, storm_ratio && *storm_ratio <= 0.5));
  return out;
}

// Calls through a context (64 B and 1 MiB) and the 1 MiB call against routing.
std::string call_rows() {
  std::string out;
  for (const auto& [label, key] : {std::pair{"call RTT 64 B echo, p50", "call64"},
                                   std::pair{"call RTT 1 MiB echo, p50", "call1MiB"}}) {
    auto call = recorded(std::string(key) + ".rtt_p50_us"),
         call_raw = recorded(std::string(key) + ".raw_p50_us"),
         call_floor = recorded(std::string(key) + ".floor_p50_us");
    auto call_ratio = ratio(call, call_raw);
    bool small = std::string(key) == "call64";
    out += row(label, fmt_opt(call, "{:.1f} us"),
               "raw same size " + fmt_opt(call_raw, "{:.1f} us") +
                   (small ? "; floor " + fmt_opt(call_floor, "{:.1f} us") : std::string()),
               fmt_opt(call_ratio, "{:.2f}x raw"),
               small ? "<= 3x raw: " + verdict(call_ratio, call_ratio && *call_ratio <= 3) +
                           floor_note(call_floor, call_raw)
                     : std::string("none set"));
  }
  auto call_big = recorded("call1MiB.rtt_p50_us"), routed_big = recorded("routed1MiB.rtt_p50_us");
  auto big_ratio = ratio(call_big, routed_big);
  out += row("call vs routed RTT 1 MiB", fmt_opt(call_big, "{:.0f} us"),
             "routed 1 MiB echo " + fmt_opt(routed_big, "{:.0f} us"),
             fmt_opt(big_ratio, "{:.2f}x routed"),
             "<= 2x routed: " + verdict(big_ratio, big_ratio && *big_ratio <= 2));
  return out;
}

// Idle memory, the pickle codec, exploration and spawning.
std::string other_rows() {
  auto idle = recorded("idle.mux_kib_per_conn"), idle_base = recorded("idle.baseline_kib_per_conn");
  std::string out = row("mux RSS per idle conn, 2000", fmt_opt(idle, "{:.2f} KiB"),
                        "idle accepted sockets " + fmt_opt(idle_base, "{:.2f} KiB"),
                        idle && idle_base ? fmt::format("+{:.2f} KiB", *idle - *idle_base) : "n/a",
                        "<= 8 KiB: " + verdict(idle, idle && *idle <= 8));
  auto copy = recorded("pickle.memcpy_Bps");
  for (const auto& [label, key] : {std::pair{"pickle encode 1 MiB bytes", "encode_binary"},
                                   std::pair{"pickle decode 1 MiB bytes", "decode_binary"},
                                   std::pair{"pickle encode 1 MiB ASCII b", "encode_ascii"},
                                   std::pair{"pickle decode 1 MiB ASCII b", "decode_ascii"},
                                   std::pair{"pickle encode 1 MiB str", "encode_text"},
                                   std::pair{"pickle decode 1 MiB str", "decode_text"}}) {
    auto rate = recorded(std::string("pickle.") + key + "_Bps");
    out += row(label, fmt_opt(rate, "{:.0f} MB/s", 1e-6),
               "memcpy " + fmt_opt(copy, "{:.0f} MB/s", 1e-6),
               fmt_opt(ratio(rate, copy), "{:.2f} of memcpy"),
               ">= 2 GB/s: " + verdict(rate, rate && *rate >= 2e9));
  }
  auto per_min = recorded("explore.runs_per_min"), one = recorded("explore.plain_run_ms"),
       whole = recorded("explore.seconds"), runs = recorded("explore.runs");
  out += row("explore plain-echo, --jobs 2", fmt_opt(per_min, "{:.0f} runs/min"),
             "one plain run " + fmt_opt(one, "{:.0f} ms"),
             fmt_opt(runs, "{:.0f} runs") + " in " + fmt_opt(whole, "{:.1f} s"),
             ">= 300/min, whole < 5 min: " +
                 verdict(per_min, per_min && whole && *per_min >= 300 && *whole < 300));
  auto sp_true = recorded("spawn.true_ms_per"), sp_seq = recorded("spawn.seq_ms_per"),
       sp_par = recorded("spawn.par2_ms_per");
  auto sp_binary = recorded("spawn.binary_ms_per");
  auto sp_ratio = ratio(sp_par, sp_true);
  out += row("spawn 200 workers, per worker", fmt_opt(sp_par, "{:.2f} ms") + " (2 at once)",
             "/bin/true posix_spawn " + fmt_opt(sp_true, "{:.2f} ms") + "; one at a time " +
                 fmt_opt(sp_seq, "{:.2f} ms"),
             fmt_opt(sp_ratio, "{:.2f}x /bin/true") + "; one at a time " +
                 fmt_opt(ratio(sp_seq, sp_true), "{:.2f}x"),
             "<= 1.25x: " + verdict(sp_ratio, sp_ratio && *sp_ratio <= 1.25));
  // The floor of spawning this binary, whatever the harness does around it.
  out += row("spawn faultmux binary itself", fmt_opt(sp_binary, "{:.2f} ms"),
             "/bin/true posix_spawn " + fmt_opt(sp_true, "{:.2f} ms"),
             fmt_opt(ratio(sp_binary, sp_true), "{:.2f}x /bin/true") + "; workers " +
                 fmt_opt(ratio(sp_seq, sp_binary), "{:.2f}x") + " of it one at a time",
             "none set");
  auto run = recorded("scale.run_s"), judge = recorded("scale.judge_s"),
       scale_floor = recorded("scale.floor_s");
  auto judge_share = ratio(judge, run);
  out += row(
      "2000 x 200 echo, whole run", fmt_opt(run, "{:.1f} s"),
      "floor, no mux: " + fmt_opt(scale_floor, "{:.1f} s") + "; judging " +
          fmt_opt(judge, "{:.2f} s"),
      fmt_opt(ratio(run, scale_floor), "{:.2f}x floor") + "; judging " +
          fmt_opt(judge_share, "{:.1f}%", 100),
      "< 30 s, judging < 10%: " +
          verdict(run, run && judge_share && *run < 30 && *judge_share < 0.1) +
          (scale_floor && *scale_floor >= 30 ? " (unreachable here: the floor is over 30 s)" : ""));
  return out;
}

// On stderr, so that --benchmark_format=json keeps stdout parseable. Each
// ratio is paired: the baseline was interleaved with the case it divides.
void print_summary() {
  std::string out =
      "\nSummary: each ratio is to a baseline interleaved with the case in this run (the "
      "machine is shared; absolute numbers are noisy)\n";
  out += row("case", "faultmux", "baseline(s)", "ratio", "target");
  out += routed_rows() + call_rows() + other_rows();
  out +=
      "Round trips run on one CPU. floor: the same four hops through a relay that only "
      "forwards (epoll_wait, recv, send per pass), the least any relay adds here.\n"
      "Scale floor: the same client processes and round trips straight to four echo servers "
      "(bench/scale_floor), the least any harness of as many processes costs here.\n";
  std::fputs(out.c_str(), stderr);
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that vanishes must be an EPIPE we report, never a signal.
  ::signal(SIGPIPE, SIG_IGN);
  // The benchmark process measures: its megabyte buffers stay on its heap
  // rather than being mapped and unmapped per message, whose page faults
  // took two thirds of a 1 MiB call round trip.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  faultmux::bench::raise_fd_limit();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  faultmux::bench::register_raw_benchmarks();
  faultmux::bench::register_routed_benchmarks();
  faultmux::bench::register_storm_benchmarks();
  faultmux::bench::register_call_benchmarks();
  faultmux::bench::register_idle_benchmarks();
  faultmux::bench::register_pickle_benchmarks();
  faultmux::bench::register_explore_benchmarks();
  faultmux::bench::register_spawn_benchmarks();
  faultmux::bench::register_scale_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  print_summary();
  benchmark::Shutdown();
  return 0;
}
