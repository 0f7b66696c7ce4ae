#include "bench/bench_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "mux/connect.hpp"
#include "wire/hello.hpp"

namespace faultmux::bench {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::map<std::string, double>& results() {
  static std::map<std::string, double> r;
  return r;
}

// Waits for a line starting with `prefix` on the child's stdout.
std::optional<std::string> line_starting(child_process& p, std::string_view prefix,
                                         std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = p.read_line(left);
    if (!line) return std::nullopt;
    if (line->starts_with(prefix)) return line;
  }
}

// SIGTERM, then a bounded wait; a child still running after that is
// SIGKILLed and reaped by child_process's destructor.
void terminate(child_process& p, std::chrono::milliseconds grace) {
  if (!p.running()) return;
  p.signal(SIGTERM);
  p.wait(grace);
}

}  // namespace

void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

double now_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

cpu_usage cpu_of(pid_t pid) {
  cpu_usage u;
  std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(proc + "/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::ifstream in(it->path() / "schedstat");
    double ns = 0;
    if (in >> ns) u.run_s += ns * 1e-9;
  }
  std::ifstream in(proc + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return u;
  // After the command name: state is field 3, minflt 10, utime 14, stime 15.
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 10) u.minor_faults = std::stod(field);
    if (i == 14) u.user_s = std::stod(field) / ticks;
    if (i == 15) u.sys_s = std::stod(field) / ticks;
  }
  return u;
}

void report_cpu(benchmark::State& state, const std::string& prefix, pid_t pid,
                const cpu_usage& before, double items) {
  cpu_usage after = cpu_of(pid);
  if (items > 0) {
    state.counters[prefix + "_cpu_us"] = (after.run_s - before.run_s) / items * 1e6;
    state.counters[prefix + "_faults"] = (after.minor_faults - before.minor_faults) / items;
  }
  double user = after.user_s - before.user_s, sys = after.sys_s - before.sys_s;
  if (user + sys > 0) state.counters[prefix + "_sys_pct"] = 100 * sys / (user + sys);
}

const char* mux_name(mux_kind k) {
  return k == mux_kind::faultmux ? "faultmux" : k == mux_kind::mitogen ? "mitogen" : "splice";
}

std::string log_tail(const std::string& log, std::size_t max_bytes) {
  std::ifstream in(log, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

finished_run run_to_end(const std::vector<std::string>& argv, const std::string& log,
                        std::chrono::minutes timeout) {
  auto p = child_process::spawn(argv, true, log);
  finished_run out;
  const auto end = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        end - std::chrono::steady_clock::now()));
  };
  while (auto line = p.read_line(left())) out.lines.push_back(*line);
  auto st = p.wait(std::chrono::seconds(10));
  if (!st || !WIFEXITED(*st))
    throw std::runtime_error(argv[0] + " did not finish: " + log_tail(log));
  out.exit_code = WEXITSTATUS(*st);
  return out;
}

namespace {

// The listener of each kind, given `--listen PATH --backlog N` by mux_process.
// faultmux's writes no events file: a benchmark measures the relay alone.
test::mux_config config_of(mux_kind kind) {
  test::mux_config cfg;
  cfg.name = mux_name(kind);
  if (kind == mux_kind::faultmux) {
    cfg.command = {FAULTMUX_BINARY, "mux"};
  } else if (kind == mux_kind::splice) {
    cfg.command = {FAULTMUX_SPLICE_RELAY};
  } else {
    // Debian's python3-mitogen is installed for /usr/bin/python3 only.
    cfg.command = {"/usr/bin/python3",
                   std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/mitogen_mux.py"};
  }
  cfg.listen_timeout = 20s;
  cfg.term_grace = 5s;
  return cfg;
}

}  // namespace

mux_process::mux_process(mux_kind kind, const temp_dir& dir, int backlog)
    : test::mux_process(dir, {"--backlog", std::to_string(backlog)}, config_of(kind)),
      kind_(kind) {}

int mux_process::open_sockets() const {
  auto fds = describe_fds();
  return static_cast<int>(std::count_if(fds.begin(), fds.end(), [](const std::string& fd) {
    return fd.find(" -> socket:") != std::string::npos;
  }));
}

echo_worker::echo_worker(const std::string& socket, const std::string& log, bool ack_only) {
  std::vector<std::string> argv{FAULTMUX_WORKER_BINARY, "worker", "--connect", socket};
  if (ack_only) argv.push_back("--ack-only");
  proc_ = spawn_logged(argv, log, true);
  auto line = line_starting(proc_, "context_id=", 20s);
  auto hello = line ? wire::parse_hello(*line) : std::nullopt;
  if (!hello) throw std::runtime_error("echo worker did not connect: " + log_tail(log));
  context_id_ = hello->context_id;
}

echo_worker::~echo_worker() {
  terminate(proc_, 5s);
}

frame_client::frame_client(const std::string& socket) : buf_(std::size_t{256} * 1024) {
  connection c = connect_unix(socket, 10s);
  context_id_ = c.context_id;
  fd_ = c.fd.release();
  int flags = ::fcntl(fd_, F_GETFL);
  ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
}

frame_client::~frame_client() {
  if (fd_ >= 0) ::close(fd_);
}

std::string frame_client::frame(std::uint32_t dst, std::uint32_t handle, std::uint32_t reply_to,
                                std::string body) const {
  message m;
  m.dst_id = dst;
  m.src_id = m.auth_id = context_id_;
  m.handle = handle;
  m.reply_to = reply_to;
  m.data = std::move(body);
  return encode_frame(m);
}

void frame_client::send_all(std::string_view bytes) {
  write_all(fd_, bytes.data(), bytes.size());
}

void frame_client::fill(bool block) {
  for (;;) {
    ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), block ? 0 : MSG_DONTWAIT);
    if (n > 0) {
      if (next_ == ready_.size()) {
        ready_.clear();
        next_ = 0;
      }
      if (decoder_.feed({buf_.data(), static_cast<std::size_t>(n)}, ready_) != frame_error::none)
        throw std::runtime_error("bad frame from the mux: " + decoder_.error_detail());
      return;
    }
    if (n == 0) throw std::runtime_error("the mux closed the connection");
    if (errno == EINTR) continue;
    if (!block && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    throw_errno("recv from the mux");
  }
}

message frame_client::read_reply(std::uint32_t handle) {
  for (;;) {
    while (next_ < ready_.size()) {
      message& m = ready_[next_++];
      if (m.handle != handle) continue;
      if (m.is_dead()) throw std::runtime_error("dead reply from the mux: " + m.data);
      return std::move(m);
    }
    fill(true);
  }
}

int frame_client::poll_replies(std::uint32_t handle, bool block) {
  auto count_ready = [&] {
    int got = 0;
    for (; next_ < ready_.size(); ++next_) {
      const message& m = ready_[next_];
      if (m.handle != handle) continue;
      if (m.is_dead()) throw std::runtime_error("dead reply from the mux: " + m.data);
      ++got;
    }
    return got;
  };
  int got = count_ready();
  if (got > 0) return got;
  do {
    fill(block);
    got += count_ready();
  } while (block && got == 0);
  return got;
}

void forked_peer::start() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
  ::fflush(nullptr);  // the child must not write our buffered output again
  pid_ = ::fork();
  if (pid_ < 0) {
    int err = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    throw std::system_error(err, std::generic_category(), "fork");
  }
  if (pid_ == 0) {
    ::dup2(sv[1], 3);
    ::close_range(4, ~0U, 0);
    child_fd_ = 3;
    return;
  }
  ::close(sv[1]);
  parent_fd_ = sv[0];
}

void forked_peer::run_exit() {
  ::_exit(0);
}

forked_peer::~forked_peer() {
  if (parent_fd_ >= 0) ::close(parent_fd_);  // the peer sees EOF and exits
  if (pid_ <= 0) return;
  // Bounded: EOF ends the peer at once; SIGKILL if it has not after 2 s.
  int st = 0;
  for (int i = 0; i < 2000; ++i) {
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) return;
    std::this_thread::sleep_for(1ms);
  }
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
}

one_cpu::one_cpu() {
  if (::sched_getaffinity(0, sizeof(old_), &old_) != 0) return;
  for (int c = CPU_SETSIZE - 1; c >= 0; --c) {
    if (!CPU_ISSET(c, &old_)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    pinned_ = ::sched_setaffinity(0, sizeof(one), &one) == 0;
    cpu_ = c;
    break;
  }
}

one_cpu::~one_cpu() {
  if (pinned_) ::sched_setaffinity(0, sizeof(old_), &old_);
}

void raw_echo_peer(int fd) {
  char buf[rtt_size];
  for (;;) {
    read_exact(fd, buf, sizeof(buf));
    write_all(fd, buf, sizeof(buf));
  }
}

void raw_sink_peer(int fd) {
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
}

void relay_floor_peer(int fd) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return;
  pid_t echo = ::fork();
  if (echo < 0) return;
  if (echo == 0) {
    ::close(fd);
    ::close(sv[0]);
    try {
      raw_echo_peer(sv[1]);
    } catch (...) {
      // EOF from the relay: the end of the run.
    }
    ::_exit(0);
  }
  ::close(sv[1]);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (int side : {fd, sv[0]}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = side;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, side, &ev);
  }
  char buf[4096];
  for (bool open = ep >= 0; open;) {
    epoll_event ready[2];
    int n = ::epoll_wait(ep, ready, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < n && open; ++i) {
      int from = ready[i].data.fd;
      ssize_t r = ::recv(from, buf, sizeof(buf), MSG_DONTWAIT);
      if (r > 0) {
        try {
          write_all(from == fd ? sv[0] : fd, buf, static_cast<std::size_t>(r));
        } catch (const std::exception&) {
          open = false;  // either side gone: the end of the run
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        open = false;
      }
    }
  }
  ::close(sv[0]);  // the echo peer sees EOF
  if (ep >= 0) ::close(ep);
  while (::waitpid(echo, nullptr, 0) < 0 && errno == EINTR) {
  }
}

double raw_round_trip(int fd) {
  char buf[rtt_size] = {};
  double t0 = now_seconds();
  write_all(fd, buf, sizeof(buf));
  read_exact(fd, buf, sizeof(buf));
  return now_seconds() - t0;
}

void raw_batch(int fd, std::string_view msg) {
  char acks[256];
  send_windowed(fd, msg, big_batch, big_window, [&](bool block) -> int {
    for (;;) {
      ssize_t n = ::recv(fd, acks, sizeof(acks), block ? 0 : MSG_DONTWAIT);
      if (n > 0) return static_cast<int>(n);
      if (n == 0) throw std::runtime_error("the raw reader exited");
      if (errno == EINTR) continue;
      if (!block && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
      throw_errno("recv ack");
    }
  });
}

void write_all(int fd, const void* data, std::size_t n) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("send");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void read_exact(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r == 0) throw std::runtime_error("peer closed the connection");
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("recv");
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
}

void report_rtt(benchmark::State& state, const std::string& who, const std::vector<double>& rtts,
                const std::vector<double>& raw_rtts, const std::vector<double>& floor_rtts) {
  double sum = 0;
  for (double r : rtts) sum += r;
  double p50 = quantile(rtts, 0.5) * 1e6, mean = sum / static_cast<double>(rtts.size()) * 1e6;
  state.SetItemsProcessed(static_cast<std::int64_t>(rtts.size()));
  state.counters["p50_us"] = p50;
  state.counters["p99_us"] = quantile(rtts, 0.99) * 1e6;
  state.counters["mean_us"] = mean;
  record(who + ".rtt_p50_us", p50);
  if (raw_rtts.empty()) return;
  double raw_p50 = quantile(raw_rtts, 0.5) * 1e6;
  state.counters["raw_p50_us"] = raw_p50;
  state.counters["x_raw_p50"] = p50 / raw_p50;
  record(who + ".raw_p50_us", raw_p50);
  if (floor_rtts.empty()) return;
  double floor_p50 = quantile(floor_rtts, 0.5) * 1e6;
  state.counters["floor_p50_us"] = floor_p50;
  state.counters["x_floor_p50"] = p50 / floor_p50;
  record(who + ".floor_p50_us", floor_p50);
}

void report_oneway(benchmark::State& state, const std::string& who, double seconds,
                   double raw_seconds) {
  double bytes = static_cast<double>(state.iterations()) * big_batch * big_size;
  double rate = bytes / seconds;
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["GB_per_s"] = rate / 1e9;
  record(who + ".oneway_Bps", rate);
  if (raw_seconds <= 0) return;
  double raw_rate = bytes / raw_seconds;
  state.counters["raw_GB_per_s"] = raw_rate / 1e9;
  state.counters["of_raw"] = rate / raw_rate;
  record(who + ".raw_Bps", raw_rate);
}

void record(const std::string& key, double value) {
  results()[key] = value;
}

std::optional<double> recorded(const std::string& key) {
  auto it = results().find(key);
  if (it == results().end()) return std::nullopt;
  return it->second;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace faultmux::bench
