#include "mux/connect.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace faultmux {
namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

// Waits for `events` on fd until `end`; false on timeout.
bool wait_for(int fd, short events, clock::time_point end) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(end));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A socket connected to addr, retrying a full backlog (EAGAIN) with backoff
// until backlog_end. The raw call: Asio reports a connect to a full backlog
// as success.
unique_fd connect_socket(const std::string& path, const sockaddr_un& addr,
                         clock::time_point backlog_end, std::chrono::milliseconds backlog_wait) {
  for (auto backoff = std::chrono::milliseconds(1);;
       backoff = std::min(backoff * 2, std::chrono::milliseconds(50))) {
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw connect_error(path, errno, fmt::format("socket(): {}", errno_text(errno)));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
    int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN) throw connect_error(path, err, errno_text(err));
    if (clock::now() + backoff >= backlog_end)
      throw connect_error(path, EAGAIN,
                          fmt::format("{}: the listen backlog stayed full for {} ms",
                                      errno_text(EAGAIN), backlog_wait.count()));
    std::this_thread::sleep_for(backoff);
  }
}

// Writes our pid as 4 big-endian bytes, waiting for room until `end`.
void send_pid(const std::string& path, int fd, clock::time_point end) {
  std::uint32_t pid = static_cast<std::uint32_t>(::getpid());
  std::uint8_t out[4] = {static_cast<std::uint8_t>(pid >> 24), static_cast<std::uint8_t>(pid >> 16),
                         static_cast<std::uint8_t>(pid >> 8), static_cast<std::uint8_t>(pid)};
  std::size_t sent = 0;
  while (sent < sizeof(out)) {
    ssize_t n = ::send(fd, out + sent, sizeof(out) - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN && wait_for(fd, POLLOUT, end)) continue;
    if (err == EAGAIN) err = ETIMEDOUT;
    throw connect_error(path, err, fmt::format("sending our pid: {}", errno_text(err)));
  }
}

// Reads the listener's 12 identity bytes into c, waiting until `end`.
void read_identity(const std::string& path, connection& c, clock::time_point end,
                   std::chrono::milliseconds deadline) {
  std::uint8_t in[12];
  std::size_t got = 0;
  while (got < sizeof(in)) {
    ssize_t n = ::recv(c.fd.get(), in + got, sizeof(in) - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0)
      throw connect_error(
          path, ECONNRESET,
          fmt::format("the listener closed the connection after {} of 12 identity bytes", got));
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN && wait_for(c.fd.get(), POLLIN, end)) continue;
    if (err == EAGAIN)
      throw connect_error(
          path, ETIMEDOUT,
          fmt::format("no identity from the listener within {} ms (got {} of 12 bytes)",
                      deadline.count(), got));
    throw connect_error(
        path, err,
        fmt::format("reading our identity (got {} of 12 bytes): {}", got, errno_text(err)));
  }
  auto get32 = [&](int at) {
    return (std::uint32_t{in[at]} << 24) | (std::uint32_t{in[at + 1]} << 16) |
           (std::uint32_t{in[at + 2]} << 8) | in[at + 3];
  };
  c.context_id = get32(0);
  c.parent_id = get32(4);
  c.parent_pid = get32(8);
}

}  // namespace

connect_error::connect_error(std::string path, int err, const std::string& detail)
    : std::runtime_error(fmt::format("cannot connect to {}: {}", path, detail)),
      path_(std::move(path)),
      err_(err) {}

connection connect_unix(const std::string& path, std::chrono::milliseconds deadline,
                        const std::function<void(connect_phase)>& on_phase,
                        std::optional<std::chrono::milliseconds> backlog_wait) {
  auto reached = [&](connect_phase p) {
    if (on_phase) on_phase(p);
  };
  auto end = clock::now() + deadline;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    throw connect_error(path, ENAMETOOLONG, errno_text(ENAMETOOLONG));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  const auto wait = backlog_wait.value_or(deadline);
  connection c;
  c.fd = connect_socket(path, addr, std::min(end, clock::now() + wait), wait);
  reached(connect_phase::connected);
  send_pid(path, c.fd.get(), end);
  reached(connect_phase::pid_sent);
  read_identity(path, c, end, deadline);
  reached(connect_phase::identity_received);
  return c;
}

}  // namespace faultmux
