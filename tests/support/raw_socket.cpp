#include "tests/support/raw_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace faultmux::test {
namespace {

using clock = std::chrono::steady_clock;

int left_ms(clock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

}  // namespace

std::array<std::uint8_t, 4> be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

unique_fd raw_connect(const std::string& path, bool nonblocking, int* err) {
  unique_fd fd(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0));
  if (!fd) {
    if (err) *err = errno;
    return fd;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    if (err) *err = ENAMETOOLONG;
    return unique_fd();
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (err) *err = errno;
    return unique_fd();
  }
  if (err) *err = 0;
  return fd;
}

bool send_all(int fd, const void* data, std::size_t len) {
  auto p = static_cast<const std::uint8_t*>(data);
  auto end = clock::now() + std::chrono::seconds(5);
  while (len > 0) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd pf{fd, POLLOUT, 0};
      if (::poll(&pf, 1, left_ms(end)) > 0) continue;
    }
    return false;
  }
  return true;
}

bool send_pid(int fd, std::uint32_t pid) {
  auto b = be32(pid);
  return send_all(fd, b.data(), b.size());
}

std::optional<identity> read_identity(int fd, std::chrono::milliseconds timeout) {
  auto end = clock::now() + timeout;
  std::uint8_t in[12];
  std::size_t got = 0;
  while (got < sizeof(in)) {
    pollfd pf{fd, POLLIN, 0};
    int r = ::poll(&pf, 1, left_ms(end));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    ssize_t n = ::recv(fd, in + got, sizeof(in) - got, MSG_DONTWAIT);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return std::nullopt;
  }
  auto get = [&](int at) {
    return (std::uint32_t{in[at]} << 24) | (std::uint32_t{in[at + 1]} << 16) |
           (std::uint32_t{in[at + 2]} << 8) | in[at + 3];
  };
  return identity{get(0), get(4), get(8)};
}

bool wait_peer_closed(int fd, std::chrono::milliseconds timeout) {
  auto end = clock::now() + timeout;
  for (;;) {
    pollfd pf{fd, POLLIN, 0};
    int r = ::poll(&pf, 1, left_ms(end));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[256];
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno == ECONNRESET) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
  }
}

bool stays_quiet(int fd, std::chrono::milliseconds timeout) {
  pollfd pf{fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&pf, 1, static_cast<int>(timeout.count()));
  } while (r < 0 && errno == EINTR);
  return r == 0;
}

std::optional<identity> probe_handshake(const std::string& path, std::chrono::milliseconds timeout,
                                        unique_fd* keep) {
  unique_fd fd = raw_connect(path);
  if (!fd || !send_pid(fd.get(), static_cast<std::uint32_t>(::getpid()))) return std::nullopt;
  auto id = read_identity(fd.get(), timeout);
  if (keep) *keep = std::move(fd);
  return id;
}

}  // namespace faultmux::test
