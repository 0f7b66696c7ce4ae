#include "tests/support/stream_support.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mux/connect.hpp"
#include "wire/hello.hpp"

namespace faultmux::test::streams {
namespace {

using clock = std::chrono::steady_clock;

int left_ms(clock::time_point end) {
  auto left = std::chrono::duration_cast<ms>(end - clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

}  // namespace

std::vector<json> filter(const std::vector<json>& events, const event_pred& pred) {
  std::vector<json> out;
  for (const json& e : events)
    if (pred(e)) out.push_back(e);
  return out;
}

std::string str(const json& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_problem_log(const json& e) {
  if (str(e, "event") != "log") return false;
  std::string level = str(e, "level");
  return level == "warning" || level == "error" || level == "critical";
}

raw_client raw_client::connect(const std::string& path) {
  connection c = connect_unix(path, ms(10000));
  raw_client r;
  r.fd_ = std::move(c.fd);
  r.id_ = c.context_id;
  r.mux_id_ = c.parent_id;
  r.pid_ = static_cast<std::uint32_t>(::getpid());
  return r;
}

raw_client raw_client::connect_as(const std::string& path, std::uint32_t pid) {
  auto end = clock::now() + ms(10000);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    throw std::runtime_error("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unique_fd fd;
  for (;;) {
    fd = unique_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) break;
    // A full backlog says EAGAIN on Linux: the mux is busy, not gone.
    if (errno != EAGAIN || clock::now() >= end)
      throw std::runtime_error("connect " + path + ": " + errno_text(errno));
    std::this_thread::sleep_for(ms(1));
  }
  std::uint8_t out[4] = {static_cast<std::uint8_t>(pid >> 24), static_cast<std::uint8_t>(pid >> 16),
                         static_cast<std::uint8_t>(pid >> 8), static_cast<std::uint8_t>(pid)};
  if (::send(fd.get(), out, sizeof(out), MSG_NOSIGNAL) != sizeof(out))
    throw std::runtime_error("sending the pid to " + path + ": " + errno_text(errno));
  std::uint8_t in[12];
  std::size_t got = 0;
  while (got < sizeof(in)) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, left_ms(end)) <= 0) throw std::runtime_error("no identity from " + path);
    ssize_t n = ::recv(fd.get(), in + got, sizeof(in) - got, 0);
    if (n == 0) throw std::runtime_error("the mux closed the connection during the handshake");
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      throw std::runtime_error("reading our identity: " + errno_text(errno));
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  auto get32 = [&](int at) {
    return (std::uint32_t{in[at]} << 24) | (std::uint32_t{in[at + 1]} << 16) |
           (std::uint32_t{in[at + 2]} << 8) | in[at + 3];
  };
  raw_client r;
  r.fd_ = std::move(fd);
  r.id_ = get32(0);
  r.mux_id_ = get32(4);
  r.pid_ = pid;
  return r;
}

std::uint32_t raw_client::fake_pid() {
  // pid_max is at most 2^22 on Linux, so these never name a live process.
  static std::atomic<std::uint32_t> next{50'000'000};
  return next++;
}

bool raw_client::send(message m, ms timeout, bool read_meanwhile) {
  m.src_id = id_;
  m.auth_id = id_;
  return write(encode_frame(m), timeout, read_meanwhile);
}

bool raw_client::fill(std::size_t max, int timeout_ms) {
  if (!fd_ || eof_ || error_) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r <= 0) return false;
  std::vector<std::uint8_t> buf(std::min<std::size_t>(max, 256 * 1024));
  ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
  if (n == 0) {
    eof_ = true;
    return false;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return true;
    error_ = errno;
    return false;
  }
  std::vector<message> got;
  decoder_.feed({buf.data(), static_cast<std::size_t>(n)}, got);
  for (message& m : got) inbox_.push_back(std::move(m));
  return true;
}

bool raw_client::write(std::string_view bytes, ms timeout, bool read_meanwhile) {
  auto end = clock::now() + timeout;
  std::size_t done = 0;
  while (done < bytes.size()) {
    if (!fd_ || error_) return false;
    pollfd p{fd_.get(), static_cast<short>(POLLOUT | (read_meanwhile && !eof_ ? POLLIN : 0)), 0};
    int r = ::poll(&p, 1, left_ms(end));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    if (p.revents & POLLIN) fill(256 * 1024, 0);
    if (!(p.revents & (POLLOUT | POLLERR | POLLHUP))) continue;
    ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      error_ = errno;
      return false;
    }
  }
  return true;
}

bool raw_client::wait_drained(ms timeout) {
  auto end = clock::now() + timeout;
  for (;;) {
    int queued = 0;
    if (!fd_ || ::ioctl(fd_.get(), SIOCOUTQ, &queued) != 0) return false;
    if (queued == 0) return true;
    if (clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

std::optional<message> raw_client::receive(ms timeout, bool keep_routes) {
  auto end = clock::now() + timeout;
  for (;;) {
    while (!inbox_.empty()) {
      message m = std::move(inbox_.front());
      inbox_.pop_front();
      bool route = !m.is_dead() && (m.handle == handle::add_route || m.handle == handle::del_route);
      if (keep_routes || !route) return m;
    }
    if (eof_ || error_ || !fd_) return std::nullopt;
    int left = left_ms(end);
    if (!fill(256 * 1024, left) && left == 0) return std::nullopt;
  }
}

std::optional<message> raw_client::take() {
  if (inbox_.empty()) return std::nullopt;
  message m = std::move(inbox_.front());
  inbox_.pop_front();
  return m;
}

bool raw_client::wait_readable(ms timeout) {
  if (!fd_) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0 && (p.revents & POLLIN);
}

bool raw_client::wait_closed(ms timeout) {
  auto end = clock::now() + timeout;
  while (!eof_ && !error_) {
    if (!fd_) return false;
    int left = left_ms(end);
    if (!fill(256 * 1024, left) && left == 0) return false;
  }
  return true;
}

std::size_t raw_client::read_some(std::size_t max, ms timeout) {
  if (!fd_ || eof_ || error_) return 0;
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return 0;
  std::vector<std::uint8_t> buf(max);
  ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
  if (n == 0) eof_ = true;
  if (n < 0 && errno != EAGAIN && errno != EINTR) error_ = errno;
  if (n <= 0) return 0;
  std::vector<message> got;
  decoder_.feed({buf.data(), static_cast<std::size_t>(n)}, got);
  for (message& m : got) inbox_.push_back(std::move(m));
  return static_cast<std::size_t>(n);
}

std::string pattern(std::uint64_t seed, std::size_t size) {
  std::string s(size, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

message to(std::uint32_t dst, std::uint32_t h, std::string body, std::uint32_t reply_to) {
  message m;
  m.dst_id = dst;
  m.handle = h;
  m.reply_to = reply_to;
  m.data = std::move(body);
  return m;
}

::testing::AssertionResult sync_with_mux(raw_client& c, std::vector<message>* seen, ms timeout) {
  // A handle the mux never has, and a reply handle used once.
  static std::uint32_t next_reply = 60000;
  std::uint32_t reply_to = next_reply++;
  if (!c.send(to(c.mux_id(), 4999, "", reply_to), timeout))
    return ::testing::AssertionFailure() << "cannot send the sync message";
  auto end = clock::now() + timeout;
  for (;;) {
    auto m = c.receive(ms(left_ms(end)));
    if (!m) return ::testing::AssertionFailure() << "no answer to the sync message";
    if (m->handle == reply_to && m->is_dead() && m->data == reason::invalid_handle)
      return ::testing::AssertionSuccess();
    if (seen) seen->push_back(std::move(*m));
  }
}

::testing::AssertionResult expect_echo(raw_client& c, std::uint32_t echo_id,
                                       const std::string& body, std::uint32_t reply_to,
                                       ms timeout) {
  auto m = c.receive(timeout);
  if (!m)
    return ::testing::AssertionFailure() << "no echo of " << body.size() << " bytes came back";
  if (m->is_dead()) return ::testing::AssertionFailure() << "dead reply: " << m->data;
  if (m->src_id != echo_id || m->handle != reply_to)
    return ::testing::AssertionFailure() << "reply from " << m->src_id << " to handle " << m->handle
                                         << ", expected from " << echo_id << " to " << reply_to;
  if (m->data != body)
    return ::testing::AssertionFailure()
           << "echo differs: " << m->data.size() << " bytes back, " << body.size() << " sent";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult echo_round_trip(raw_client& c, std::uint32_t echo_id,
                                           const std::string& body, std::uint32_t reply_to,
                                           ms timeout) {
  if (!c.send(to(echo_id, 1000, body, reply_to), timeout))
    return ::testing::AssertionFailure()
           << "cannot send " << body.size() << " bytes to " << echo_id;
  return expect_echo(c, echo_id, body, reply_to, timeout);
}

event_pred disconnect_of(const std::string& stream) {
  return [stream](const json& e) {
    return str(e, "event") == "disconnect" && str(e, "stream") == stream;
  };
}

event_pred problem_naming(const std::string& stream, const std::vector<std::string>& any_of) {
  return [stream, any_of](const json& e) {
    if (!is_problem_log(e)) return false;
    std::string msg = str(e, "msg");
    // The name followed by ':' so unix_client.1 does not match unix_client.12.
    if (msg.find(stream + ":") == std::string::npos) return false;
    if (any_of.empty()) return true;
    return std::any_of(any_of.begin(), any_of.end(),
                       [&](const std::string& w) { return msg.find(w) != std::string::npos; });
  };
}

echo_worker start_worker(const std::string& socket, const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv{binary(), "worker", "--connect", socket};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  echo_worker w;
  w.proc = child_process::spawn(argv, true);
  auto line = w.proc.read_line(ms(10000));
  auto hello = line ? wire::parse_hello(*line) : std::nullopt;
  if (!hello)
    throw std::runtime_error(
        "faultmux worker did not print its context id (got: " + line.value_or("nothing") + ")");
  w.id = hello->context_id;
  return w;
}

child_process start_load(const std::string& socket, std::uint32_t peer, int count, std::size_t size,
                         int in_flight, const std::string& events) {
  std::vector<std::string> argv{binary(),      "worker",
                                "--connect",   socket,
                                "--peer",      std::to_string(peer),
                                "--count",     std::to_string(count),
                                "--size",      std::to_string(size),
                                "--in-flight", std::to_string(in_flight)};
  if (!events.empty()) argv.insert(argv.end(), {"--events", events});
  // stdout captured (two short lines fit in the pipe unread) to keep the test output readable.
  return child_process::spawn(argv, true);
}

load_group::load_group(const run_dir& dir, const std::string& socket,
                       std::vector<echo_worker>& echoes, int n, int count)
    : events_(dir.file("load.events")) {
  for (auto& e : echoes) e.proc.signal(SIGSTOP);
  for (int i = 0; i < n; ++i) {
    procs_.push_back(start_load(socket, echoes[static_cast<std::size_t>(i) % echoes.size()].id,
                                count, 64u << (i % 5), 4, events_));
  }
  for (auto& p : procs_) {
    auto line = p.read_line(ms(10000));
    if (!line || !wire::parse_hello(*line)) {
      for (auto& e : echoes) e.proc.signal(SIGCONT);
      throw std::runtime_error("a load worker did not connect (got: " + line.value_or("nothing") +
                               ")");
    }
  }
  for (auto& e : echoes) e.proc.signal(SIGCONT);
}

std::optional<double> load_group::first_done() const {
  std::optional<double> first;
  for (const json& e : read_events(events_)) {
    if (str(e, "event") != "workload_done") continue;
    double t = e.value("t", 0.0);
    if (!first || t < *first) first = t;
  }
  return first;
}

int count_clean_exits(std::vector<child_process>& procs, ms timeout) {
  auto end = clock::now() + timeout;
  int ok = 0;
  for (auto& p : procs) {
    auto st = p.wait(ms(left_ms(end)));
    if (st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) ++ok;
  }
  return ok;
}

std::string status_text(const std::optional<int>& status) {
  return status ? describe_status(*status) : std::string("still running");
}

}  // namespace faultmux::test::streams
