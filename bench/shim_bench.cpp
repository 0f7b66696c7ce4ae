// The cost of the syscall shim when it is loaded but no rule matches: the
// routed 64-byte round trip (bench process -> mux -> echo worker -> mux ->
// bench process) through a mux with libfaultmux_shim.so preloaded, beside
// the same round trip through a plain mux, interleaved in the same run so
// that the machine's drift hits both alike. Target: within 5%.
//
// Two rule sets that never fire: one for a call the mux never makes
// (`accept`: it accepts with accept4), where the data calls take the
// wrapper's fast path; and one that addresses recv but on a class the mux
// never has (`recv@connecting`), so every recv is classified and rejected.
//
// Every process of a case (the bench process, both muxes, both echo
// workers) runs pinned to one CPU (see one_cpu): a difference of a few
// percent would drown in where each process lands.
//
// The cases register themselves (static initialisation), so this file needs
// nothing from main().
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"
#include "roles/roles.hpp"

namespace faultmux::bench {
namespace {

constexpr std::uint32_t reply_handle = 1001;
constexpr int shim_rtt_pairs = 20000;  // round trips through each mux

// A `faultmux mux`, optionally under the shim; SIGTERM and a bounded wait on
// destruction (child_process reaps or kills what is left).
class shim_mux {
 public:
  shim_mux(const temp_dir& dir, const std::string& name, const std::string& rules)
      : path_(dir.file(name + ".sock")), log_(dir.file(name + ".log")) {
    std::vector<std::string> argv;
    if (!rules.empty())
      argv = {"/usr/bin/env", std::string("LD_PRELOAD=") + FAULTMUX_SHIM,
              "FAULTMUX_FAULTS=" + rules, "FAULTMUX_ROLE=mux"};
    for (const std::string& a :
         {std::string(FAULTMUX_BINARY), std::string("mux"), std::string("--listen"), path_})
      argv.push_back(a);
    proc_ = spawn_logged(argv, log_, true);
    for (;;) {
      auto line = proc_.read_line(20s);
      if (!line) throw std::runtime_error(name + " did not listen: " + log_tail(log_));
      if (line->rfind("listening ", 0) == 0) break;
    }
  }
  ~shim_mux() {
    proc_.signal(SIGTERM);
    proc_.wait(5s);
  }
  const std::string& path() const { return path_; }
  pid_t pid() const { return proc_.pid(); }

 private:
  std::string path_, log_;
  child_process proc_;
};

struct route {
  std::unique_ptr<shim_mux> mux;
  std::unique_ptr<echo_worker> echo;
  std::unique_ptr<frame_client> client;
  std::string frame;
  std::vector<double> rtts;

  route(const temp_dir& dir, const std::string& name, const std::string& rules) {
    mux = std::make_unique<shim_mux>(dir, name, rules);
    echo = std::make_unique<echo_worker>(mux->path(), dir.file(name + ".echo.log"));
    client = std::make_unique<frame_client>(mux->path());
    frame = client->frame(echo->context_id(), worker_echo_handle, reply_handle,
                          std::string(rtt_size, 'p'));
  }
  double round_trip() {
    double t0 = now_seconds();
    client->send_all(frame);
    message m = client->read_reply(reply_handle);
    if (m.data.size() != rtt_size) throw std::runtime_error("echo reply has the wrong size");
    return now_seconds() - t0;
  }
};

void shim_overhead(benchmark::State& state, const std::string& rules, const std::string& key) {
  try {
    one_cpu pin;
    temp_dir dir;
    route plain(dir, "plain", "");
    route shimmed(dir, "shimmed", rules);
    for (int i = 0; i < rtt_warmup; ++i) {
      plain.round_trip();
      shimmed.round_trip();
    }
    cpu_usage plain_cpu = cpu_of(plain.mux->pid()), shim_cpu = cpu_of(shimmed.mux->pid());
    // Blocks of paired_block round trips, alternating which mux goes first.
    int n = 0;
    for (auto _ : state) {
      bool plain_first = (n++ / paired_block) % 2 == 0;
      route& a = plain_first ? plain : shimmed;
      route& b = plain_first ? shimmed : plain;
      a.rtts.push_back(a.round_trip());
      b.rtts.push_back(b.round_trip());
    }
    double items = static_cast<double>(state.iterations());
    report_cpu(state, "plain_mux", plain.mux->pid(), plain_cpu, items);
    report_cpu(state, "shim_mux", shimmed.mux->pid(), shim_cpu, items);
    double p50_plain = quantile(plain.rtts, 0.5) * 1e6,
           p50_shim = quantile(shimmed.rtts, 0.5) * 1e6;
    double mean_plain = 0, mean_shim = 0;
    for (double v : plain.rtts) mean_plain += v;
    for (double v : shimmed.rtts) mean_shim += v;
    mean_plain = mean_plain / items * 1e6;
    mean_shim = mean_shim / items * 1e6;
    state.counters["plain_p50_us"] = p50_plain;
    state.counters["shim_p50_us"] = p50_shim;
    state.counters["p50_ratio"] = p50_shim / p50_plain;
    state.counters["plain_p99_us"] = quantile(plain.rtts, 0.99) * 1e6;
    state.counters["shim_p99_us"] = quantile(shimmed.rtts, 0.99) * 1e6;
    state.counters["mean_ratio"] = mean_shim / mean_plain;
    state.counters["cpu"] = pin.cpu();
    record(key + ".plain_p50_us", p50_plain);
    record(key + ".shim_p50_us", p50_shim);
    // Read by a person at the end of the run: the ratio and the 5% target.
    std::fprintf(stderr,
                 "shim overhead (%s): routed RTT 64 B p50 %.1f us with the shim, %.1f us without: "
                 "%.3fx (mean %.3fx); target <= 1.05x: %s\n",
                 rules.c_str(), p50_shim, p50_plain, p50_shim / p50_plain, mean_shim / mean_plain,
                 p50_shim / p50_plain <= 1.05 ? "met" : "MISSED");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool registered = [] {
  benchmark::RegisterBenchmark("shim_rtt_64B/no_rule_for_its_calls", shim_overhead,
                               std::string("accept -> EIO"), std::string("shim_accept"))
      ->Iterations(shim_rtt_pairs)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("shim_rtt_64B/recv_rule_on_another_class", shim_overhead,
                               std::string("recv@connecting -> EIO"), std::string("shim_recv"))
      ->Iterations(shim_rtt_pairs)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
}  // namespace faultmux::bench
