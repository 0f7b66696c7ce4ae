// The scale floor: the traffic of an N x M echo scenario with nothing around
// it. Four echo servers listen on AF_UNIX paths; N clients, forked from this
// small process, each connect to one and make M round trips of 64 bytes, one
// at a time, then exit. No relay, no handshake, no events, no judging: any
// run of N worker processes making N x M round trips costs at least this on
// this machine, whatever harness or mux is around them.
//   faultmux_scale_floor DIR N M
// Prints "spawn_s=S traffic_s=T total_s=U failed=F" on stdout.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int servers = 4;
constexpr int message_size = 64;

double now() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

sockaddr_un address(const std::string& dir, int server) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s/floor%d.sock", dir.c_str(), server);
  return a;
}

// Echoes whatever each connection sends until it is killed.
[[noreturn]] void serve(int listener) {
  int ep = ::epoll_create1(0);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &e);
  epoll_event ready[64];
  char buf[4096];
  for (;;) {
    int n = ::epoll_wait(ep, ready, 64, -1);
    for (int k = 0; k < n; ++k) {
      int fd = ready[k].data.fd;
      if (fd == listener) {
        epoll_event c{};
        c.events = EPOLLIN;
        c.data.fd = ::accept(listener, nullptr, nullptr);
        if (c.data.fd >= 0) ::epoll_ctl(ep, EPOLL_CTL_ADD, c.data.fd, &c);
        continue;
      }
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r <= 0 || ::write(fd, buf, static_cast<std::size_t>(r)) != r) ::close(fd);
    }
  }
}

// One client: connect, M round trips, exit status 0 when all came back.
[[noreturn]] void client(const sockaddr_un& a, int rounds) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) ::_exit(2);
  char buf[message_size] = {1};
  for (int i = 0; i < rounds; ++i) {
    if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) ::_exit(1);
    std::size_t got = 0;
    while (got < sizeof buf) {
      ssize_t r = ::read(fd, buf + got, sizeof buf - got);
      if (r <= 0) ::_exit(1);
      got += static_cast<std::size_t>(r);
    }
  }
  ::_exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: faultmux_scale_floor DIR N M\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int n = std::atoi(argv[2]), rounds = std::atoi(argv[3]);
  ::signal(SIGPIPE, SIG_IGN);
  const double t0 = now();
  std::vector<pid_t> server_pids;
  for (int s = 0; s < servers; ++s) {
    sockaddr_un a = address(dir, s);
    ::unlink(a.sun_path);
    int l = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, n) != 0) {
      std::fprintf(stderr, "faultmux_scale_floor: listen on %s: %s\n", a.sun_path,
                   std::strerror(errno));
      return 1;
    }
    pid_t pid = ::fork();
    if (pid == 0) serve(l);
    server_pids.push_back(pid);
    ::close(l);
  }
  std::vector<pid_t> clients;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) client(address(dir, i % servers), rounds);
    if (pid > 0) clients.push_back(pid);
  }
  const double spawned = now();
  int failed = n - static_cast<int>(clients.size());
  for (pid_t pid : clients) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || status != 0) ++failed;
  }
  const double done = now();
  for (pid_t pid : server_pids) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::printf("spawn_s=%.3f traffic_s=%.3f total_s=%.3f failed=%d\n", spawned - t0, done - spawned,
              done - t0, failed);
  return failed == 0 ? 0 : 1;
}
