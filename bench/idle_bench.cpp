// Mux memory per idle connection: 2000 clients connect to faultmux's mux and
// each routes one message to itself (so its stream has read and written),
// then every one sits idle; the mux's VmRSS growth over those 2000, per
// connection. Beside it in the same run, the baseline: a trivial process
// that only accepts the same number of connections and holds them.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"
#include "mux/connect.hpp"
#include "mux/fd.hpp"

namespace faultmux::bench {
namespace {

constexpr int idle_clients = 2000;
constexpr int warm_clients = 20;             // before the first reading: one-time allocations
constexpr std::uint32_t self_handle = 4242;  // a handle nobody serves: the message comes back

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

long self_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long kib = -1;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> kib;
      break;
    }
    in.ignore(4096, '\n');
  }
  return kib;
}

unique_fd plain_connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw_errno("connect to " + path);
  return fd;
}

// The baseline process: listens at `path`, and for each count it is sent
// accepts that many connections, holds them and answers its VmRSS in KiB.
void accepting_peer(int ctl, const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unique_fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener.get(), 4096) != 0)
    return;
  std::vector<unique_fd> held;
  for (;;) {
    std::int32_t count = 0;
    write_all(ctl, "L", 1);
    read_exact(ctl, &count, sizeof count);
    for (int i = 0; i < count; ++i)
      held.emplace_back(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    long rss = self_rss_kib();
    write_all(ctl, &rss, sizeof rss);
  }
}

// Sends `count` to the baseline process, connects that many clients and
// returns its VmRSS once it has accepted them all.
long baseline_after(forked_peer& peer, const std::string& path, int count,
                    std::vector<unique_fd>& clients) {
  char ready = 0;
  read_exact(peer.fd(), &ready, 1);
  std::int32_t n = count;
  write_all(peer.fd(), &n, sizeof n);
  for (int i = 0; i < count; ++i) clients.push_back(plain_connect(path));
  long rss = 0;
  read_exact(peer.fd(), &rss, sizeof rss);
  return rss;
}

// A client of the mux that has routed one message to itself and read it back.
unique_fd routed_client(const std::string& path) {
  connection c = connect_unix(path);
  int fd = c.fd.get();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  message m;
  m.dst_id = m.src_id = m.auth_id = c.context_id;
  m.handle = m.reply_to = self_handle;
  m.data = "idle";
  const std::string frame = encode_frame(m);
  write_all(fd, frame.data(), frame.size());
  frame_decoder decoder;
  std::vector<message> got;
  std::uint8_t buf[4096];
  while (got.empty()) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) throw_errno("reading the routed message back");
    decoder.feed({buf, static_cast<std::size_t>(n)}, got);
  }
  return std::move(c.fd);
}

void idle_rss_baseline(benchmark::State& state) {
  try {
    temp_dir dir;
    const std::string path = dir.path() + "/accepting.sock";
    forked_peer peer([path](int ctl) { accepting_peer(ctl, path); });
    std::vector<unique_fd> clients;
    long before = 0, after = 0;
    for (auto _ : state) {
      before = baseline_after(peer, path, warm_clients, clients);
      after = baseline_after(peer, path, idle_clients, clients);
    }
    const double per = static_cast<double>(after - before) / idle_clients;
    state.counters["rss_kib_per_conn"] = per;
    record("idle.baseline_kib_per_conn", per);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void idle_rss_mux(benchmark::State& state) {
  try {
    temp_dir dir;
    mux_process mux(mux_kind::faultmux, dir, 4096);
    std::vector<unique_fd> clients;
    long before = 0, after = 0;
    for (auto _ : state) {
      for (int i = 0; i < warm_clients; ++i) clients.push_back(routed_client(mux.path()));
      before = mux.rss_kib();
      for (int i = 0; i < idle_clients; ++i) clients.push_back(routed_client(mux.path()));
      after = mux.rss_kib();
    }
    if (before <= 0 || after <= 0) throw std::runtime_error("cannot read the mux's VmRSS");
    const double per = static_cast<double>(after - before) / idle_clients;
    state.counters["rss_kib_per_conn"] = per;
    state.counters["rss_kib"] = static_cast<double>(after);
    record("idle.mux_kib_per_conn", per);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_idle_benchmarks() {
  benchmark::RegisterBenchmark("idle_rss_2000/accepted_sockets", idle_rss_baseline)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("idle_rss_2000/faultmux", idle_rss_mux)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace faultmux::bench
