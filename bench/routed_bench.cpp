// Messages routed through a mux between workers: round-trip latency, one-way
// 1 MiB throughput and routing capacity. The benchmark process is one of the
// workers, so what is timed is exactly the route through the mux; each case
// runs against faultmux's mux and, where Mitogen can keep up, against
// Mitogen 0.3.3's router with the same C++ echo worker.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"
#include "roles/roles.hpp"

namespace faultmux::bench {
namespace {

constexpr std::uint32_t reply_handle = 1001;  // any dynamic handle of ours

// bench process -> mux -> echo worker -> mux -> bench process, 64 B each
// way, with blocks of raw socketpair round trips and of round trips through
// the relay floor interleaved (untimed) as the paired baselines. On one CPU
// (see one_cpu).
void routed_rtt(benchmark::State& state, mux_kind kind) {
  try {
    one_cpu pin;
    temp_dir dir;
    mux_process mux(kind, dir, 16);
    echo_worker echo(mux.path(), dir.file("echo.log"));
    frame_client client(mux.path());
    forked_peer raw(raw_echo_peer);
    forked_peer relay(relay_floor_peer);
    std::string frame = client.frame(echo.context_id(), worker_echo_handle, reply_handle,
                                     std::string(rtt_size, 'p'));
    for (int i = 0; i < rtt_warmup; ++i) {
      client.send_all(frame);
      client.read_reply(reply_handle);
      raw_round_trip(raw.fd());
      raw_round_trip(relay.fd());
    }
    std::vector<double> rtts, raw_rtts, floor_rtts;
    rtts.reserve(static_cast<std::size_t>(state.max_iterations));
    raw_rtts.reserve(static_cast<std::size_t>(state.max_iterations));
    floor_rtts.reserve(static_cast<std::size_t>(state.max_iterations));
    cpu_usage mux_cpu = cpu_of(mux.pid()), echo_cpu = cpu_of(echo.pid());
    for (auto _ : state) {
      double t0 = now_seconds();
      client.send_all(frame);
      message m = client.read_reply(reply_handle);
      rtts.push_back(now_seconds() - t0);
      if (m.data.size() != rtt_size) {
        state.SkipWithError("echo reply has the wrong size");
        break;
      }
      if (rtts.size() % paired_block == 0) {
        state.PauseTiming();
        for (int i = 0; i < paired_block; ++i) raw_rtts.push_back(raw_round_trip(raw.fd()));
        for (int i = 0; i < paired_block; ++i) floor_rtts.push_back(raw_round_trip(relay.fd()));
        state.ResumeTiming();
      }
    }
    if (state.error_occurred()) return;
    // The mux's CPU per round trip covers two passes (request and reply);
    // raw round trips in between cost it nothing.
    report_cpu(state, "mux", mux.pid(), mux_cpu, static_cast<double>(state.iterations()));
    report_cpu(state, "echo", echo.pid(), echo_cpu, static_cast<double>(state.iterations()));
    report_rtt(state, mux_name(kind), rtts, raw_rtts, floor_rtts);
    state.counters["cpu"] = pin.cpu();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// bench process -> mux -> worker, 1 MiB bodies, at most big_window
// unacknowledged; the worker acknowledges each with an empty body, so the
// bytes go one way and the route back carries 26-byte frames. Each
// iteration ends with the same batch over a raw socketpair (untimed), the
// paired baseline.
void routed_oneway(benchmark::State& state, mux_kind kind) {
  try {
    temp_dir dir;
    mux_process mux(kind, dir, 16);
    echo_worker sink(mux.path(), dir.file("sink.log"), /*ack_only=*/true);
    frame_client client(mux.path());
    forked_peer raw(raw_sink_peer);
    std::string frame = client.frame(sink.context_id(), worker_echo_handle, reply_handle,
                                     std::string(big_size, 'x'));
    std::string raw_msg(big_size, 'x');
    auto acks = [&](bool block) { return client.poll_replies(reply_handle, block); };
    send_windowed(client.fd(), frame, big_batch, big_window, acks);  // warm up
    raw_batch(raw.fd(), raw_msg);
    double routed_s = 0, raw_s = 0;
    cpu_usage mux_cpu = cpu_of(mux.pid());
    for (auto _ : state) {
      double t0 = now_seconds();
      send_windowed(client.fd(), frame, big_batch, big_window, acks);
      double t1 = now_seconds();
      state.PauseTiming();
      raw_batch(raw.fd(), raw_msg);
      raw_s += now_seconds() - t1;
      state.ResumeTiming();
      routed_s += t1 - t0;
    }
    // Per MiB forwarded; mux_busy near 1 would mean the mux thread is the
    // bottleneck.
    double mib = static_cast<double>(state.iterations()) * big_batch;
    cpu_usage mux_after = cpu_of(mux.pid());
    report_cpu(state, "mux", mux.pid(), mux_cpu, mib);
    state.counters["mux_busy"] = (mux_after.run_s - mux_cpu.run_s) / routed_s;
    report_oneway(state, mux_name(kind), routed_s, raw_s);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// bench process -> mux -> echo worker -> mux -> bench process with 1 MiB
// each way: the baseline of a 1 MiB call's round trip (call_bench.cpp),
// the same path without the pickling. Not pinned: at 1 MiB the copies, not
// the wakeups, take the time.
void routed_rtt_big(benchmark::State& state) {
  try {
    temp_dir dir;
    mux_process mux(mux_kind::faultmux, dir, 16);
    echo_worker echo(mux.path(), dir.file("echo.log"));
    frame_client client(mux.path());
    std::string frame = client.frame(echo.context_id(), worker_echo_handle, reply_handle,
                                     std::string(big_size, 'p'));
    for (int i = 0; i < 20; ++i) {
      client.send_all(frame);
      client.read_reply(reply_handle);
    }
    std::vector<double> rtts;
    for (auto _ : state) {
      double t0 = now_seconds();
      client.send_all(frame);
      message m = client.read_reply(reply_handle);
      rtts.push_back(now_seconds() - t0);
      if (m.data.size() != big_size) {
        state.SkipWithError("echo reply has the wrong size");
        break;
      }
    }
    if (state.error_occurred()) return;
    state.counters["p50_us"] = quantile(rtts, 0.5) * 1e6;
    record("routed1MiB.rtt_p50_us", quantile(rtts, 0.5) * 1e6);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

constexpr int capacity_pairs = 16;
constexpr int capacity_in_flight = 64;
// Round trips per load worker per iteration, enough that an iteration takes
// about a second and the workers' start is a small part of it; Mitogen's
// mux, some 15 times slower, gets fewer.
constexpr int capacity_count = 40000;
constexpr int mitogen_capacity_count = 3000;

// 16 load workers, each keeping 64 round trips in flight to its own echo
// worker, all through one mux: faultmux's, or Mitogen 0.3.3's beside it in
// the same run with the same workers (the mux is what differs), or the
// splice relay, the floor: what the workers themselves allow on this machine. Each iteration starts
// the load workers anew (a worker runs one workload) and is timed from the first spawn until the
// last one prints its result line; the exit statuses are checked after, untimed.
void routed_capacity(benchmark::State& state, mux_kind kind) {
  const int count = kind == mux_kind::mitogen ? mitogen_capacity_count : capacity_count;
  try {
    temp_dir dir;
    mux_process mux(kind, dir, 4 * capacity_pairs);
    std::vector<echo_worker> echoes;
    echoes.reserve(capacity_pairs);
    for (int i = 0; i < capacity_pairs; ++i)
      echoes.emplace_back(mux.path(), dir.file("echo" + std::to_string(i) + ".log"));
    double worker_seconds_max = 0, timed = 0;
    cpu_usage mux_cpu = cpu_of(mux.pid());
    double loop_start = now_seconds();
    int iteration = 0;
    for (auto _ : state) {
      std::vector<child_process> load;
      std::vector<std::string> logs;
      double t0 = now_seconds();
      for (int i = 0; i < capacity_pairs; ++i) {
        logs.push_back(
            dir.file("load" + std::to_string(iteration) + "_" + std::to_string(i) + ".log"));
        load.push_back(
            spawn_logged({FAULTMUX_WORKER_BINARY, "worker", "--connect", mux.path(), "--peer",
                          std::to_string(echoes[static_cast<std::size_t>(i)].context_id()),
                          "--count", std::to_string(count), "--size", std::to_string(rtt_size),
                          "--in-flight", std::to_string(capacity_in_flight)},
                         logs.back(), true));
      }
      std::string failure;
      for (std::size_t i = 0; i < load.size() && failure.empty(); ++i) {
        for (;;) {
          auto line = load[i].read_line(60s);
          if (!line) {
            failure = "load worker gave no result within 60 s: " + log_tail(logs[i]);
            break;
          }
          int ok = 0, failed = 0;
          double seconds = 0;
          if (std::sscanf(line->c_str(), "done ok=%d failed=%d seconds=%lf", &ok, &failed,
                          &seconds) != 3)
            continue;
          if (ok != count || failed != 0) failure = "load worker: " + *line;
          worker_seconds_max = std::max(worker_seconds_max, seconds);
          break;
        }
      }
      timed += now_seconds() - t0;
      state.PauseTiming();
      for (std::size_t i = 0; i < load.size() && failure.empty(); ++i) {
        auto st = load[i].wait(10s);
        if (!st || !WIFEXITED(*st) || WEXITSTATUS(*st) != 0)
          failure = "load worker " + (st ? describe_status(*st) : std::string("still running")) +
                    ": " + log_tail(logs[i]);
      }
      state.ResumeTiming();
      if (!failure.empty()) {
        state.SkipWithError(failure.c_str());
        break;
      }
      ++iteration;
    }
    if (state.error_occurred()) return;
    double round_trips = static_cast<double>(state.iterations()) * capacity_pairs * count;
    state.SetItemsProcessed(static_cast<std::int64_t>(round_trips));
    // Each round trip is two messages through the mux: request and reply.
    state.counters["routed_msgs_per_s"] = 2 * round_trips / timed;
    state.counters["worker_s_max"] = worker_seconds_max;
    // Per routed message; mux_busy (over the whole loop, reaping included)
    // near 1 means the single mux thread is the bottleneck rather than the
    // 33 processes sharing two cores.
    report_cpu(state, "mux", mux.pid(), mux_cpu, 2 * round_trips);
    state.counters["mux_busy"] =
        (cpu_of(mux.pid()).run_s - mux_cpu.run_s) / (now_seconds() - loop_start);
    record(std::string(mux_name(kind)) + ".capacity_rt_per_s", round_trips / timed);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_routed_benchmarks() {
  benchmark::RegisterBenchmark("rtt_64B/faultmux", routed_rtt, mux_kind::faultmux)
      ->Iterations(faultmux_rtt_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("rtt_64B/mitogen", routed_rtt, mux_kind::mitogen)
      ->Iterations(mitogen_rtt_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("oneway_1MiB/faultmux", routed_oneway, mux_kind::faultmux)
      ->Iterations(faultmux_oneway_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("oneway_1MiB/mitogen", routed_oneway, mux_kind::mitogen)
      ->Iterations(mitogen_oneway_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("rtt_1MiB/faultmux", routed_rtt_big)
      ->Iterations(300)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("capacity_16x64/faultmux", routed_capacity, mux_kind::faultmux)
      ->Iterations(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("capacity_16x64/splice_floor", routed_capacity, mux_kind::splice)
      ->Iterations(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("capacity_16x64/mitogen", routed_capacity, mux_kind::mitogen)
      ->Iterations(2)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace faultmux::bench
