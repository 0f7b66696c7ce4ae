// The pickle codec on a 1 MiB bytes value and a 1 MiB str value, encode and
// decode, in MB/s of the value; beside memcpy of 1 MiB in the same run, the
// most a pass that touches every byte can do here. The bytes are all 256
// values in turn (half of them above 0x7f) or plain ASCII.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"
#include "mux/pickle.hpp"

namespace faultmux::bench {
namespace {

constexpr std::size_t value_size = std::size_t{1} << 20;

enum class content { binary, ascii, text };

pickle::value value_of(content c) {
  std::string s(value_size, '\0');
  for (std::size_t i = 0; i < s.size(); ++i)
    s[i] = c == content::binary ? static_cast<char>(i * 131) : static_cast<char>('a' + i % 26);
  if (c == content::text) return pickle::text{s};
  return pickle::bytes{s};
}

const char* key_of(content c) {
  return c == content::binary ? "binary" : c == content::ascii ? "ascii" : "text";
}

void report_rate(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * value_size));
}

// The median pass: the machine is shared, and a pass that lost its CPU says nothing.
double seconds_per_pass(const std::vector<double>& t) {
  std::vector<double> v = t;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void memcpy_1mib(benchmark::State& state) {
  std::string from(value_size, 'm'), to(value_size, '\0');
  std::vector<double> t;
  for (auto _ : state) {
    double t0 = now_seconds();
    std::memcpy(to.data(), from.data(), value_size);
    benchmark::DoNotOptimize(to.data());
    benchmark::ClobberMemory();
    t.push_back(now_seconds() - t0);
  }
  report_rate(state);
  record("pickle.memcpy_Bps", static_cast<double>(value_size) / seconds_per_pass(t));
}

void encode_1mib(benchmark::State& state, content c) {
  const pickle::value v = value_of(c);
  std::vector<double> t;
  for (auto _ : state) {
    double t0 = now_seconds();
    auto p = pickle::encode(v);
    benchmark::DoNotOptimize(p);
    t.push_back(now_seconds() - t0);
    if (!p) {
      state.SkipWithError(p.error().c_str());
      return;
    }
  }
  report_rate(state);
  record(std::string("pickle.encode_") + key_of(c) + "_Bps",
         static_cast<double>(value_size) / seconds_per_pass(t));
}

void decode_1mib(benchmark::State& state, content c) {
  auto p = pickle::encode(value_of(c));
  if (!p) {
    state.SkipWithError(p.error().c_str());
    return;
  }
  const std::string pickled = *p;
  std::vector<double> t;
  for (auto _ : state) {
    double t0 = now_seconds();
    auto v = pickle::decode(pickled);
    benchmark::DoNotOptimize(v);
    t.push_back(now_seconds() - t0);
    if (!v) {
      state.SkipWithError(v.error().c_str());
      return;
    }
  }
  report_rate(state);
  record(std::string("pickle.decode_") + key_of(c) + "_Bps",
         static_cast<double>(value_size) / seconds_per_pass(t));
}

}  // namespace

void register_pickle_benchmarks() {
  // The baseline first: its result is in the summary's ratios.
  benchmark::RegisterBenchmark("pickle_1MiB/memcpy", memcpy_1mib)
      ->Iterations(400)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  for (content c : {content::binary, content::ascii, content::text}) {
    const std::string kind = c == content::text ? "str_" : "bytes_";
    benchmark::RegisterBenchmark(("pickle_1MiB/encode_" + kind + key_of(c)).c_str(), encode_1mib, c)
        ->Iterations(200)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("pickle_1MiB/decode_" + kind + key_of(c)).c_str(), decode_1mib, c)
        ->Iterations(200)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace faultmux::bench
