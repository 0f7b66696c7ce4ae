// Baselines: two processes on an AF_UNIX socketpair with nothing in between.
// The routed cases report their ratios to these, measured in the same run,
// because on a shared machine only ratios within one run mean anything.
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"

namespace faultmux::bench {
namespace {

// The child echoes every 64-byte ping until EOF.
void raw_rtt(benchmark::State& state) {
  try {
    forked_peer peer([](int fd) {
      char buf[rtt_size];
      for (;;) {
        read_exact(fd, buf, sizeof(buf));
        write_all(fd, buf, sizeof(buf));
      }
    });
    char buf[rtt_size] = {};
    for (int i = 0; i < rtt_warmup; ++i) {
      write_all(peer.fd(), buf, sizeof(buf));
      read_exact(peer.fd(), buf, sizeof(buf));
    }
    std::vector<double> rtts;
    rtts.reserve(static_cast<std::size_t>(state.max_iterations));
    double start = now_seconds();
    for (auto _ : state) {
      double t0 = now_seconds();
      write_all(peer.fd(), buf, sizeof(buf));
      read_exact(peer.fd(), buf, sizeof(buf));
      rtts.push_back(now_seconds() - t0);
    }
    report_rtt(state, "raw", rtts, now_seconds() - start);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// The child reads 1 MiB messages and acknowledges each with one byte, so
// the sender runs with the same window as the routed case.
void raw_oneway(benchmark::State& state) {
  try {
    forked_peer peer([](int fd) {
      std::vector<char> buf(big_size);
      std::size_t have = 0;
      for (;;) {
        ssize_t n = ::recv(fd, buf.data() + have, big_size - have, 0);
        if (n == 0) return;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        have += static_cast<std::size_t>(n);
        if (have == big_size) {
          have = 0;
          write_all(fd, "a", 1);
        }
      }
    });
    std::string msg(big_size, 'x');
    char acks[256];
    auto count_acks = [&](bool block) -> int {
      for (;;) {
        ssize_t n = ::recv(peer.fd(), acks, sizeof(acks), block ? 0 : MSG_DONTWAIT);
        if (n > 0) return static_cast<int>(n);
        if (n == 0) throw std::runtime_error("the reader exited");
        if (errno == EINTR) continue;
        if (!block && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        throw std::system_error(errno, std::generic_category(), "recv ack");
      }
    };
    send_windowed(peer.fd(), msg, big_batch, big_window, count_acks);  // warm up
    double start = now_seconds();
    for (auto _ : state) send_windowed(peer.fd(), msg, big_batch, big_window, count_acks);
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
