#include "tests/support/mux_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace faultmux::test {
namespace {

using clock = std::chrono::steady_clock;

int left_ms(clock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

}  // namespace

child_process spawn_logged(const std::vector<std::string>& argv, const std::string& stderr_path) {
  // exec keeps the pid: the returned process is the program itself, not a shell.
  std::vector<std::string> sh{"/bin/sh", "-c", "f=$1; shift; exec \"$@\" 2>>\"$f\"", "sh",
                              stderr_path};
  sh.insert(sh.end(), argv.begin(), argv.end());
  return child_process::spawn(sh, true);
}

std::vector<json> read_events(const std::string& path) {
  std::vector<json> out;
  std::string text = slurp(path);
  std::size_t at = 0;
  for (;;) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos) break;
    auto j = json::parse(text.begin() + static_cast<long>(at), text.begin() + static_cast<long>(nl),
                         nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
    at = nl + 1;
  }
  return out;
}

std::optional<json> wait_event(const std::string& events_path,
                               const std::function<bool(const json&)>& pred,
                               std::chrono::milliseconds timeout) {
  std::optional<json> found;
  eventually(
      [&] {
        for (auto& e : read_events(events_path))
          if (pred(e)) {
            found = std::move(e);
            return true;
          }
        return false;
      },
      timeout);
  return found;
}

mux_process::mux_process(const run_dir& dir, std::vector<std::string> args, mux_config cfg)
    : socket_(cfg.socket.empty() ? dir.file(cfg.name + ".sock") : cfg.socket),
      events_(dir.file(cfg.name + ".events")),
      stderr_(dir.file(cfg.name + ".stderr")) {
  std::vector<std::string> argv = std::move(cfg.prefix);
  for (const std::string& a : {std::string(binary()), std::string("mux"), std::string("--listen"),
                               socket_, std::string("--events"), events_})
    argv.push_back(a);
  argv.insert(argv.end(), args.begin(), args.end());
  proc_ = spawn_logged(argv, stderr_);
  auto line = proc_.read_line(std::chrono::seconds(10));
  if (!line || *line != "listening " + socket_)
    throw std::runtime_error("mux did not listen on " + socket_ + ": stdout " +
                             (line ? "'" + *line + "'" : std::string("closed")) +
                             ", stderr: " + stderr_text());
}

std::vector<json> mux_process::events(std::string_view name) const {
  std::vector<json> out;
  for (auto& e : events())
    if (e.value("event", "") == name) out.push_back(std::move(e));
  return out;
}

std::optional<json> mux_process::wait_event(const std::function<bool(const json&)>& pred,
                                            std::chrono::milliseconds timeout) const {
  return test::wait_event(events_, pred, timeout);
}

std::optional<json> mux_process::wait_event(std::string_view name,
                                            std::chrono::milliseconds timeout) const {
  return wait_event([&](const json& e) { return e.value("event", "") == name; }, timeout);
}

std::string mux_process::stderr_text() const {
  return slurp(stderr_);
}

bool mux_process::alive() {
  return !proc_.wait(std::chrono::milliseconds(0)).has_value();
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto end = clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int open_fd_count(pid_t pid, int below) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.' && std::atoi(e->d_name) < below) ++n;
  ::closedir(d);
  return n;
}

char process_state(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  // "pid (comm) S ...": comm may hold spaces and parentheses, so take the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return '?';
  return stat[close + 2];
}

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
