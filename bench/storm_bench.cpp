// Handshake storm: 1000 clients connect and send their pid while the mux is
// SIGSTOPped (as when the mux is not scheduled while Ansible's forks start),
// then the mux resumes. Timed from SIGCONT until every client holds its 12
// identity bytes, against faultmux's listener and Mitogen 0.3.3's.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"
#include "mux/fd.hpp"

namespace faultmux::bench {
namespace {

constexpr int storm_clients = 1000;
constexpr int storm_iterations = 9;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

struct storm_client {
  unique_fd fd;
  std::array<std::uint8_t, 12> identity{};
  std::size_t got = 0;
};

std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// Connects every client with the raw syscall (a full backlog is EAGAIN on
// Linux, which must fail the run, not be retried) and sends its pid, which
// the kernel queues for the stopped listener.
std::vector<storm_client> connect_all(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  auto pid = static_cast<std::uint32_t>(::getpid());
  const std::uint8_t pid_bytes[4] = {
      static_cast<std::uint8_t>(pid >> 24), static_cast<std::uint8_t>(pid >> 16),
      static_cast<std::uint8_t>(pid >> 8), static_cast<std::uint8_t>(pid)};
  std::vector<storm_client> clients(storm_clients);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto& c = clients[i];
    c.fd = unique_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!c.fd) throw_errno("socket");
    if (::connect(c.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw_errno("connect of client " + std::to_string(i) + " to the stopped mux");
    if (::send(c.fd.get(), pid_bytes, sizeof(pid_bytes), MSG_NOSIGNAL) != sizeof(pid_bytes))
      throw_errno("sending the pid of client " + std::to_string(i));
  }
  return clients;
}

// Reads identities until every client has 12 bytes; throws on EOF, error or
// a 20 s deadline.
void await_identities(std::vector<storm_client>& clients) {
  unique_fd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) throw_errno("epoll_create1");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, clients[i].fd.get(), &ev) != 0)
      throw_errno("epoll_ctl");
  }
  std::size_t done = 0;
  double deadline = now_seconds() + 20;
  std::array<epoll_event, 256> events;
  while (done < clients.size()) {
    int left_ms = static_cast<int>((deadline - now_seconds()) * 1000);
    if (left_ms <= 0)
      throw std::runtime_error(std::to_string(clients.size() - done) + " of " +
                               std::to_string(clients.size()) +
                               " clients got no identity within 20 s");
    int n = ::epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()), left_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("epoll_wait");
    for (int k = 0; k < n; ++k) {
      auto& c = clients[events[static_cast<std::size_t>(k)].data.u64];
      ssize_t r = ::recv(c.fd.get(), c.identity.data() + c.got, c.identity.size() - c.got, 0);
      if (r == 0) throw std::runtime_error("the mux closed a client before its identity was sent");
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        throw_errno("recv identity");
      }
      c.got += static_cast<std::size_t>(r);
      if (c.got < c.identity.size()) continue;
      ++done;
      ::epoll_ctl(ep.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    }
  }
}

// Every client got its own context id from the same listener.
void check_identities(const std::vector<storm_client>& clients) {
  std::set<std::uint32_t> ids;
  std::uint32_t parent = get32(clients.front().identity.data() + 4);
  for (const auto& c : clients) {
    ids.insert(get32(c.identity.data()));
    if (get32(c.identity.data() + 4) != parent)
      throw std::runtime_error("clients were told different listener context ids");
  }
  if (ids.size() != clients.size()) throw std::runtime_error("a context id was handed out twice");
}

// One storm against `mux`: stop it, queue every client, resume it and wait
// for every identity, then close the clients and wait until the mux has
// dropped them all, so storms never overlap. With `timed`, the benchmark's
// timer runs only from SIGCONT to the last identity (it must be paused on
// entry). Returns that span in seconds; adds the mux's CPU in it to `cpu_s`.
double run_storm(mux_process& mux, benchmark::State* timed, double& cpu_s) {
  auto idle = mux.describe_fds();
  int idle_sockets = mux.open_sockets();
  mux.stop();
  auto clients = connect_all(mux.path());
  cpu_usage before = cpu_of(mux.pid());
  if (timed) timed->ResumeTiming();
  double t0 = now_seconds();
  mux.resume();
  await_identities(clients);
  double elapsed = now_seconds() - t0;
  if (timed) timed->PauseTiming();
  cpu_s += cpu_of(mux.pid()).run_s - before.run_s;
  check_identities(clients);
  clients.clear();
  double settle_deadline = now_seconds() + 20;
  while (mux.open_sockets() > idle_sockets) {
    if (now_seconds() > settle_deadline) {
      std::string extra;
      for (const auto& fd : mux.describe_fds())
        if (!std::binary_search(idle.begin(), idle.end(), fd)) extra += " " + fd;
      throw std::runtime_error(std::string(mux_name(mux.kind())) +
                               ": 20 s after its storm clients closed the mux still holds" + extra +
                               "; " + log_tail(mux.log()));
    }
    std::this_thread::sleep_for(10ms);
  }
  return elapsed;
}

// Storms against `kind`'s listener, each followed (untimed) by a storm
// against the other mux's listener, the paired baseline: both see the same
// load on the machine.
void handshake_storm(benchmark::State& state, mux_kind kind) {
  try {
    raise_fd_limit();
    temp_dir dir;
    mux_kind other = kind == mux_kind::faultmux ? mux_kind::mitogen : mux_kind::faultmux;
    mux_process mux(kind, dir, storm_clients);
    mux_process paired(other, dir, storm_clients);
    std::vector<double> times, paired_times;
    double cpu_s = 0, paired_cpu_s = 0;
    for (auto _ : state) {
      state.PauseTiming();
      times.push_back(run_storm(mux, &state, cpu_s));
      paired_times.push_back(run_storm(paired, nullptr, paired_cpu_s));
      state.ResumeTiming();
    }
    double total = 0;
    for (double t : times) total += t;
    double median_ms = quantile(times, 0.5) * 1e3;
    double paired_ms = quantile(paired_times, 0.5) * 1e3;
    std::string name = mux_name(kind), other_name = mux_name(other);
    state.SetItemsProcessed(state.iterations() * storm_clients);
    state.counters["median_ms"] = median_ms;
    state.counters["max_ms"] = quantile(times, 1.0) * 1e3;
    state.counters[other_name + "_median_ms"] = paired_ms;
    state.counters["x_" + other_name] = median_ms / paired_ms;
    // The mux's CPU while timed: per handshake, and as a share of the time
    // (near 1: the mux itself is the bottleneck, not the shared machine).
    double handshakes = static_cast<double>(state.iterations()) * storm_clients;
    state.counters["mux_cpu_us"] = cpu_s / handshakes * 1e6;
    state.counters["mux_busy"] = cpu_s / total;
    state.counters[other_name + "_cpu_us"] = paired_cpu_s / handshakes * 1e6;
    record(name + ".storm_median_ms", median_ms);
    record(name + ".storm_paired_ms", paired_ms);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

void register_storm_benchmarks() {
  // Real time with the timer paused outside each storm: only the span from
  // SIGCONT to the last identity counts, not queueing the clients, the
  // paired storm or waiting for the mux to drop the clients.
  benchmark::RegisterBenchmark("storm_1000/faultmux", handshake_storm, mux_kind::faultmux)
      ->Iterations(storm_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("storm_1000/mitogen", handshake_storm, mux_kind::mitogen)
      ->Iterations(storm_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace faultmux::bench
