// Calls into a context: the benchmark process is the worker, and each round
// trip is a CALL_FUNCTION of faultmux.builtins.echo (64 B or 1 MiB of bytes)
// to the context the mux's ContextService started, through the mux and back,
// the reply unpickled and checked, as a caller sees it. Raw socketpair round
// trips of the same size are interleaved with the calls (paired measurement,
// see bench_support.hpp) and the ratio is to those.
#include <algorithm>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "mux/call.hpp"
#include "mux/pickle.hpp"
#include "wire/protocol.hpp"

namespace faultmux::bench {
namespace {

constexpr std::uint32_t mux_id = 0;  // faultmux mux is the root context
constexpr std::uint32_t service_reply = 1001, call_reply = 1002;
constexpr int call_small_iterations = 20000;
constexpr int call_big_iterations = 300;
constexpr int call_warmup = 200;
constexpr int big_paired_block = 8;

// faultmux.ContextService.get(name=...) through the mux: the context's id.
std::uint32_t get_context(frame_client& client, const std::string& name) {
  auto body =
      pickle::encode(pickle::tuple{{pickle::text{"faultmux.ContextService"}, pickle::text{"get"},
                                    pickle::kwargs{{{pickle::text{"name"}, pickle::text{name}}}}}});
  client.send_all(client.frame(mux_id, handle::call_service, service_reply, *body));
  message m = client.read_reply(service_reply);
  auto v = pickle::decode(m.data);
  if (const auto* d = v ? v->get<pickle::dict>() : nullptr) {
    for (const auto& [k, val] : d->items)
      if (const auto* ctx = val.get<pickle::context_ref>())
        return static_cast<std::uint32_t>(ctx->id);
  }
  throw std::runtime_error("ContextService.get gave no context: " +
                           (v ? pickle::to_string(*v) : v.error()));
}

// A forked child that echoes messages of `size` bytes until EOF.
void raw_echo_of(int fd, std::size_t size) {
  std::string buf(size, '\0');
  for (;;) {
    read_exact(fd, buf.data(), size);
    write_all(fd, buf.data(), size);
  }
}

double raw_echo_round_trip(int fd, std::string& buf) {
  double t0 = now_seconds();
  write_all(fd, buf.data(), buf.size());
  read_exact(fd, buf.data(), buf.size());
  return now_seconds() - t0;
}

// bench process -> mux -> context -> mux -> bench process, on one CPU (see
// one_cpu). The 64-byte case also interleaves the relay floor: the same
// four hops with nothing done on the way.
void call_rtt(benchmark::State& state, std::size_t size, int block) {
  try {
    one_cpu pin;
    temp_dir dir;
    mux_process mux(mux_kind::faultmux, dir, 16);
    frame_client client(mux.path());
    const std::uint32_t ctx = get_context(client, "bench");
    const std::string arg(size, 'p');
    call_spec spec;
    spec.context_id = ctx;
    spec.function = "echo";
    spec.args.items.push_back(pickle::bytes{arg});
    const std::string frame =
        client.frame(ctx, handle::call_function, call_reply, encode_call(spec));
    forked_peer raw([size](int fd) { raw_echo_of(fd, size); });
    std::string raw_buf(size, 'r');
    std::optional<forked_peer> relay;
    if (size == rtt_size) relay.emplace(relay_floor_peer);

    auto one_call = [&] {
      double t0 = now_seconds();
      client.send_all(frame);
      message m = client.read_reply(call_reply);
      auto v = pickle::decode(m.data);
      double t = now_seconds() - t0;
      const auto* b = v ? v->get<pickle::bytes>() : nullptr;
      if (!b || b->data.size() != size)
        throw std::runtime_error("echo call answered " +
                                 (v ? pickle::to_string(*v).substr(0, 200) : v.error()));
      return t;
    };
    for (int i = 0; i < call_warmup; ++i) {
      one_call();
      raw_echo_round_trip(raw.fd(), raw_buf);
      if (relay) raw_round_trip(relay->fd());
    }

    std::vector<double> rtts, raw_rtts, floor_rtts;
    rtts.reserve(static_cast<std::size_t>(state.max_iterations));
    raw_rtts.reserve(static_cast<std::size_t>(state.max_iterations));
    // The context is the mux's only child process.
    pid_t context_pid = 0;
    {
      std::ifstream kids(fmt::format("/proc/{0}/task/{0}/children", mux.pid()));
      kids >> context_pid;
    }
    cpu_usage mux_cpu = cpu_of(mux.pid()), context_cpu{};
    if (context_pid > 0) context_cpu = cpu_of(context_pid);
    int n = 0;
    for (auto _ : state) {
      rtts.push_back(one_call());
      if (++n % block == 0) {
        for (int i = 0; i < block; ++i) raw_rtts.push_back(raw_echo_round_trip(raw.fd(), raw_buf));
        for (int i = 0; relay && i < block; ++i) floor_rtts.push_back(raw_round_trip(relay->fd()));
      }
    }
    const std::string who = size == rtt_size ? "call64" : "call1MiB";
    report_rtt(state, who, rtts, raw_rtts, floor_rtts);
    state.counters["cpu"] = pin.cpu();
    // Two passes through the mux per call: the request and the reply.
    report_cpu(state, "mux", mux.pid(), mux_cpu, static_cast<double>(state.iterations()));
    if (context_pid > 0)
      report_cpu(state, "context", context_pid, context_cpu,
                 static_cast<double>(state.iterations()));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_call_benchmarks() {
  benchmark::RegisterBenchmark("call_rtt_64B/faultmux", call_rtt, rtt_size, paired_block)
      ->Iterations(call_small_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("call_rtt_1MiB/faultmux", call_rtt, big_size, big_paired_block)
      ->Iterations(call_big_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace faultmux::bench
