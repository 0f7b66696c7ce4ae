// A small program for the shim's tests: it makes known socket and pipe
// calls and prints one line per call (result, errno, data, time), so a test
// run under LD_PRELOAD can see exactly which call a fault hit. Reports go
// through stdio, which glibc writes with its internal write, so they are
// never faulted themselves.
//
//   faultmux_shim_probe stream DIR ROUNDS RECV SEND    ping-pong over AF_UNIX
//   faultmux_shim_probe pipe DIR                       pipe write/read, then a stream round
//   faultmux_shim_probe accepts DIR N accept|accept4   N connections, one accept each
//   faultmux_shim_probe fork DIR K                     K sends in the parent and two children
//   faultmux_shim_probe threads DIR T K                T threads, K ping-pongs each
//   faultmux_shim_probe peers DIR ROUNDS NAME...       one client process per NAME, in turn
//   faultmux_shim_probe channels DIR ROUNDS NAME...    one context process per NAME, in turn
//   faultmux_shim_probe late-exec DIR NAME             a channel used before its child execs
//   faultmux_shim_probe starts DIR K                   K child starts as the mux makes them
//   faultmux_shim_probe exec-self DIR                  execs itself without forking
//   faultmux_shim_probe kills DIR K                    K kill(SIGCONT)s of a child it started
//
// `peers` starts each client as `faultmux_shim_probe client DIR ROUNDS NAME`
// with FAULTMUX_PEER=NAME (none for "-"), FAULTMUX_ROLE=worker and
// FAULTMUX_INDEX=its 1-based position, and serves it on one accepted socket:
// the client sends "hello", the server answers "welcome", then ROUNDS
// ping-pongs. Lines are "server NAME ..." and "client NAME ...".
//
// `channels` does the same over a socketpair per NAME: the child is started
// as `faultmux_shim_probe context --name NAME` (a faultmux context's command
// line) with its end as fd 3, and the environment unchanged, as the mux
// starts its contexts; the parent's first recv waits for the child's hello.
// `late-exec` forks such a child that execs only once
// the parent has sent its "welcome" on the channel; then they talk as in
// `channels`, two rounds.
//
// `starts` makes K starts, each a socketpair, a fork and an execve in the
// child of `faultmux_shim_probe started` (which exits 0), while another
// thread allocates, as the mux's threads may at a fork. Lines are "parent
// socketpair|fork|execve call=N ...": the Nth socketpair, the Nth fork, and
// the exec in the child of the Nth fork (its errno comes back over a
// close-on-exec pipe, as Boost.Process does).
//
// `kills` starts a child that sleeps, sends it SIGCONT (which it ignores by
// default) K times, lines "parent kill call=N ...", then SIGKILL and reaps it.
//
// RECV is recv, recvfrom, recvmsg, read or readv; SEND is send, sendto,
// sendmsg, write or writev. Exit 0 when every transfer completed, 3 when one
// gave up after too many failed calls, 2 on bad arguments.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

constexpr int max_calls = 64;  // per transfer: a fault loop never hangs a test

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string printable(const char* p, ssize_t n) {
  std::string out;
  for (ssize_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

std::mutex print_mu;

void report(const char* side, const char* op, int call_no, long ret, int err, const char* data,
            double ms) {
  std::lock_guard lock(print_mu);
  std::printf("%s %s call=%d ret=%ld", side, op, call_no, ret);
  if (ret < 0) std::printf(" errno=%s", strerrorname_np(err));
  if (data != nullptr && ret > 0) std::printf(" data=%s", printable(data, ret).c_str());
  std::printf(" ms=%.1f\n", ms);
}

ssize_t do_recv(const std::string& kind, int fd, char* buf, size_t len) {
  if (kind == "recv") return ::recv(fd, buf, len, 0);
  if (kind == "recvfrom") return ::recvfrom(fd, buf, len, 0, nullptr, nullptr);
  if (kind == "read") return ::read(fd, buf, len);
  // Two pieces, so iovec handling is exercised.
  size_t half = len / 2;
  iovec iov[2] = {{buf, half}, {buf + half, len - half}};
  if (kind == "readv") return ::readv(fd, iov, 2);
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  return ::recvmsg(fd, &m, 0);
}

ssize_t do_send(const std::string& kind, int fd, const char* buf, size_t len) {
  if (kind == "send") return ::send(fd, buf, len, MSG_NOSIGNAL);
  if (kind == "sendto") return ::sendto(fd, buf, len, MSG_NOSIGNAL, nullptr, 0);
  if (kind == "write") return ::write(fd, buf, len);
  size_t half = len / 2;
  iovec iov[2] = {{const_cast<char*>(buf), half}, {const_cast<char*>(buf) + half, len - half}};
  if (kind == "writev") return ::writev(fd, iov, 2);
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  return ::sendmsg(fd, &m, MSG_NOSIGNAL);
}

struct counters {
  int calls = 0;
};

// Moves exactly len bytes through `io` (one recv or send call of `kind` on
// what is left), reporting every call; false if it gave up, or when
// `eof_ends` and a call returned 0.
template <typename Byte, typename Io>
bool transfer_all(const char* side, const std::string& kind, Byte* buf, size_t len, counters& c,
                  bool eof_ends, Io io) {
  size_t done = 0;
  for (int tries = 0; done < len && tries < max_calls; ++tries) {
    double t0 = now_ms();
    ssize_t n = io(buf + done, len - done);
    int err = errno;
    report(side, kind.c_str(), ++c.calls, n, err, buf + done, now_ms() - t0);
    if (n == 0 && eof_ends) return false;
    if (n > 0) done += static_cast<size_t>(n);
  }
  return done == len;
}

// Receives exactly len bytes, reporting every call; false if it gave up.
bool recv_all(const char* side, const std::string& kind, int fd, char* buf, size_t len,
              counters& c) {
  return transfer_all(side, kind, buf, len, c, true,
                      [&](char* at, size_t n) { return do_recv(kind, fd, at, n); });
}

bool send_all(const char* side, const std::string& kind, int fd, const char* buf, size_t len,
              counters& c) {
  return transfer_all(side, kind, buf, len, c, false,
                      [&](const char* at, size_t n) { return do_send(kind, fd, at, n); });
}

sockaddr_un unix_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  return a;
}

int make_listener(const std::string& dir) {
  std::string path = dir + "/probe.sock";
  ::unlink(path.c_str());
  int l = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = unix_addr(path);
  if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 16) != 0) {
    std::perror("probe: listener");
    std::exit(3);
  }
  return l;
}

int connect_client(const std::string& dir, counters& c) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = unix_addr(dir + "/probe.sock");
  for (int tries = 0; tries < max_calls; ++tries) {
    double t0 = now_ms();
    int r = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int err = errno;
    report("client", "connect", ++c.calls, r, err, nullptr, now_ms() - t0);
    if (r == 0) return s;
  }
  std::exit(3);
}

int accept_client(int l, const std::string& kind, counters& c) {
  for (int tries = 0; tries < max_calls; ++tries) {
    double t0 = now_ms();
    int r = kind == "accept" ? ::accept(l, nullptr, nullptr)
                             : ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    int err = errno;
    report("server", kind.c_str(), ++c.calls, r < 0 ? -1 : 0, err, nullptr, now_ms() - t0);
    if (r >= 0) return r;
  }
  std::exit(3);
}

int stream(const std::string& dir, int rounds, const std::string& rk, const std::string& sk) {
  int l = make_listener(dir);
  counters connects, accepts, client_send, server_recv, server_send, client_recv;
  int client = connect_client(dir, connects);
  int server = accept_client(l, "accept4", accepts);
  bool ok = true;
  for (int i = 1; ok && i <= rounds; ++i) {
    char msg[16], in[16] = {};
    std::snprintf(msg, sizeof msg, "ping%04d", i);
    ok = send_all("client", sk, client, msg, 8, client_send) &&
         recv_all("server", rk, server, in, 8, server_recv);
    if (ok) std::printf("server got %s\n", printable(in, 8).c_str());
    std::snprintf(msg, sizeof msg, "pong%04d", i);
    ok = ok && send_all("server", sk, server, msg, 8, server_send) &&
         recv_all("client", rk, client, in, 8, client_recv);
    if (ok) std::printf("client got %s\n", printable(in, 8).c_str());
  }
  ::close(client);
  ::close(server);
  ::close(l);
  return ok ? 0 : 3;
}

int pipe_then_stream(const std::string& dir) {
  int p[2];
  if (::pipe(p) != 0) return 3;
  counters w, r;
  bool ok = send_all("pipe", "write", p[1], "abcdef", 6, w);
  char in[8] = {};
  ok = ok && recv_all("pipe", "read", p[0], in, 6, r);
  if (ok) std::printf("pipe got %s\n", printable(in, 6).c_str());
  ::close(p[0]);
  ::close(p[1]);
  return ok ? stream(dir, 1, "read", "write") : 3;
}

int accepts(const std::string& dir, int n, const std::string& kind) {
  int l = make_listener(dir);
  counters connects, acc;
  for (int i = 0; i < n; ++i) {
    int c = connect_client(dir, connects);
    int s = accept_client(l, kind, acc);
    ::close(s);
    ::close(c);
  }
  ::close(l);
  return 0;
}

void sends(const char* who, int fd, int k) {
  counters c;
  for (int i = 0; i < k; ++i) {
    ssize_t n = ::send(fd, "x", 1, MSG_NOSIGNAL);
    int err = errno;
    report(who, "send", ++c.calls, n, err, nullptr, 0);
  }
  std::fflush(stdout);
}

int forks(int k) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 3;
  sends("parent", sv[0], k);
  for (int child = 1; child <= 2; ++child) {
    std::fflush(stdout);
    pid_t pid = ::fork();
    if (pid < 0) return 3;
    if (pid == 0) {
      sends(child == 1 ? "child1" : "child2", sv[0], k);
      _exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 3;
  }
  return 0;
}

// The child of a start: execs `started`, or reports the exec's errno on
// `report` and ends. Only async-signal-safe calls: the parent has threads.
[[noreturn]] void exec_started(int report) {
  char self[] = "/proc/self/exe";
  char started[] = "started";
  char* args[] = {self, started, nullptr};
  ::execve(self, args, environ);
  int err = errno;
  ssize_t ignored = ::write(report, &err, sizeof err);
  (void)ignored;
  _exit(127);
}

// One start's fork and exec, reported as the `i`th fork.
bool fork_and_exec(int i) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return false;
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) exec_started(pipe_fds[1]);
  report("parent", "fork", i, pid < 0 ? -1 : 0, errno, nullptr, 0);
  ::close(pipe_fds[1]);
  if (pid > 0) {
    int child_err = 0;
    ssize_t n;
    while ((n = ::read(pipe_fds[0], &child_err, sizeof child_err)) < 0 && errno == EINTR) {
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    report("parent", "execve", i, n > 0 ? -1 : 0, child_err, nullptr, 0);
  }
  ::close(pipe_fds[0]);
  return true;
}

int starts(int k) {
  std::atomic<bool> done{false};
  std::thread allocator([&] {
    while (!done) delete[] new char[std::rand() % 4096 + 1];
  });
  bool ok = true;
  int forks_made = 0;
  for (int i = 1; i <= k && ok; ++i) {
    int sv[2];
    int r = ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    report("parent", "socketpair", i, r, errno, nullptr, 0);
    if (r != 0) continue;
    ok = fork_and_exec(++forks_made);
    ::close(sv[0]);
    ::close(sv[1]);
  }
  done = true;
  allocator.join();
  return ok ? 0 : 3;
}

// An exec in a process that is no fork child of one the shim numbered.
int exec_self() {
  char self[] = "/proc/self/exe";
  char started[] = "started";
  char* args[] = {self, started, nullptr};
  ::execve(self, args, environ);
  report("self", "execve", 1, -1, errno, nullptr, 0);
  return 3;
}

int threads(int t, int k) {
  std::atomic<int> failures{0};
  std::atomic<int> errors_seen{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < t; ++i) {
    pool.emplace_back([&, i] {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ++failures;
        return;
      }
      char buf[8];
      for (int round = 0; round < k; ++round) {
        for (int side = 0; side < 2; ++side) {
          int tries = 0;
          ssize_t n = -1;
          while (n != 8 && tries++ < max_calls) {
            n = ::send(sv[side], "12345678", 8, MSG_NOSIGNAL);
            if (n < 0) ++errors_seen;
          }
          size_t got = 0;
          tries = 0;
          while (got < 8 && tries++ < max_calls) {
            n = ::recv(sv[1 - side], buf + got, 8 - got, 0);
            if (n < 0) ++errors_seen;
            if (n > 0) got += static_cast<size_t>(n);
          }
          if (got != 8) ++failures;
        }
      }
      ::close(sv[0]);
      ::close(sv[1]);
      std::lock_guard lock(print_mu);
      std::printf("thread %d done\n", i);
    });
  }
  for (auto& th : pool) th.join();
  std::printf("threads failures=%d errors_seen=%d\n", failures.load(), errors_seen.load());
  return failures.load() == 0 ? 0 : 3;
}

// One ping-pong conversation, from either side, after the hello exchange.
bool converse(const std::string& side, int fd, bool is_server, int rounds) {
  counters rc, sc;
  char in[16] = {};
  bool ok = is_server ? recv_all(side.c_str(), "recv", fd, in, 5, rc) &&
                            send_all(side.c_str(), "send", fd, "welcome", 7, sc)
                      : send_all(side.c_str(), "send", fd, "hello", 5, sc) &&
                            recv_all(side.c_str(), "recv", fd, in, 7, rc);
  for (int i = 1; ok && i <= rounds; ++i) {
    char ping[16], pong[16];
    std::snprintf(ping, sizeof ping, "ping%04d", i);
    std::snprintf(pong, sizeof pong, "pong%04d", i);
    ok = is_server ? recv_all(side.c_str(), "recv", fd, in, 8, rc) &&
                         send_all(side.c_str(), "send", fd, pong, 8, sc)
                   : send_all(side.c_str(), "send", fd, ping, 8, sc) &&
                         recv_all(side.c_str(), "recv", fd, in, 8, rc);
  }
  return ok;
}

int client(const std::string& dir, int rounds, const std::string& name) {
  std::printf("client %s pid=%d\n", name.c_str(), static_cast<int>(::getpid()));
  counters connects;
  int fd = connect_client(dir, connects);
  bool ok = converse("client " + name, fd, false, rounds);
  ::close(fd);
  return ok ? 0 : 3;
}

pid_t spawn_client(const std::string& dir, int rounds, const std::string& name, int index) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string v(*e);
    if (v.starts_with("FAULTMUX_PEER=") || v.starts_with("FAULTMUX_ROLE=") ||
        v.starts_with("FAULTMUX_INDEX="))
      continue;
    env.push_back(v);
  }
  if (name != "-") env.push_back("FAULTMUX_PEER=" + name);
  env.push_back("FAULTMUX_ROLE=worker");
  env.push_back("FAULTMUX_INDEX=" + std::to_string(index));
  std::string self = "/proc/self/exe", r = std::to_string(rounds);
  std::vector<char*> argv = {
      self.data(), const_cast<char*>("client"),     const_cast<char*>(dir.c_str()),
      r.data(),    const_cast<char*>(name.c_str()), nullptr};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) return -1;
  return pid;
}

int peers(const std::string& dir, int rounds, const std::vector<std::string>& names) {
  int l = make_listener(dir);
  bool ok = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::fflush(stdout);
    pid_t pid = spawn_client(dir, rounds, names[i], static_cast<int>(i + 1));
    if (pid < 0) return 3;
    counters acc;
    int s = accept_client(l, "accept4", acc);
    std::printf("server %s fd=%d\n", names[i].c_str(), s);
    ok = converse("server " + names[i], s, true, rounds) && ok;
    ::close(s);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  ::close(l);
  return ok ? 0 : 3;
}

// The child of `channels` and `late-exec`: fd 3 is its end of the channel.
int context_child(const std::string& name, int rounds) {
  std::printf("context %s pid=%d\n", name.c_str(), static_cast<int>(::getpid()));
  return converse("client " + name, 3, false, rounds) ? 0 : 3;
}

std::vector<std::string> context_argv(const std::string& name, int rounds) {
  return {"/proc/self/exe", "context", "--name", name, "--rounds", std::to_string(rounds)};
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

int channels(int rounds, const std::vector<std::string>& names) {
  bool ok = true;
  for (const std::string& name : names) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 3;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    std::vector<std::string> args = context_argv(name, rounds);
    std::vector<char*> argv = c_argv(args);
    std::fflush(stdout);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(sv[1]);
    if (rc != 0) return 3;
    // The child's command line is there once it has exec'd, at the latest
    // when it says hello: the first recv comes after that.
    pollfd p{sv[0], POLLIN, 0};
    ::poll(&p, 1, 5000);
    ok = converse("server " + name, sv[0], true, rounds) && ok;
    ::close(sv[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return ok ? 0 : 3;
}

int late_exec(const std::string& name) {
  int sv[2], go[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || ::pipe(go) != 0) return 3;
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) return 3;
  if (pid == 0) {
    char c;
    ::close(go[1]);
    while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
    }
    std::vector<std::string> args = context_argv(name, 2);
    std::vector<char*> argv = c_argv(args);
    ::dup2(sv[1], 3);
    ::execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  ::close(sv[1]);
  ::close(go[0]);
  counters c;
  char in[16] = {};
  // The child holds the other end but has not exec'd: it has no name yet.
  bool ok = send_all("server", "send", sv[0], "welcome", 7, c);
  ok = ::write(go[1], "x", 1) == 1 && ok;
  ::close(go[1]);
  ok = ok && recv_all("server", "recv", sv[0], in, 5, c);
  for (int i = 1; ok && i <= 2; ++i) {
    ok = recv_all("server", "recv", sv[0], in, 8, c) &&
         send_all("server", "send", sv[0], "pong0000", 8, c);
  }
  ::close(sv[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 3;
}

}  // namespace

int kills(int k) {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  if (child < 0) return 3;
  for (int i = 1; i <= k; ++i) {
    int r = ::kill(child, SIGCONT);
    report("parent", "kill", i, r, errno, nullptr, 0);
  }
  ::syscall(SYS_kill, child, SIGKILL);  // past the shim: the rules may be failing kill()
  int status = 0;
  ::waitpid(child, &status, 0);
  return 0;
}

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 5 && a[0] == "stream") return stream(a[1], std::atoi(a[2].c_str()), a[3], a[4]);
  if (a.size() == 2 && a[0] == "pipe") return pipe_then_stream(a[1]);
  if (a.size() == 4 && a[0] == "accepts") return accepts(a[1], std::atoi(a[2].c_str()), a[3]);
  if (a.size() == 3 && a[0] == "fork") return forks(std::atoi(a[2].c_str()));
  if (a.size() >= 4 && a[0] == "peers") {
    return peers(a[1], std::atoi(a[2].c_str()), std::vector<std::string>(a.begin() + 3, a.end()));
  }
  if (a.size() == 4 && a[0] == "client") return client(a[1], std::atoi(a[2].c_str()), a[3]);
  if (a.size() >= 4 && a[0] == "channels")
    return channels(std::atoi(a[2].c_str()), std::vector<std::string>(a.begin() + 3, a.end()));
  if (a.size() == 3 && a[0] == "late-exec") return late_exec(a[2]);
  if (a.size() == 3 && a[0] == "starts") return starts(std::atoi(a[2].c_str()));
  if (a.size() == 2 && a[0] == "exec-self") return exec_self();
  if (a.size() == 3 && a[0] == "kills") return kills(std::atoi(a[2].c_str()));
  if (a.size() == 1 && a[0] == "started") return 0;
  if (a.size() == 5 && a[0] == "context" && a[1] == "--name" && a[3] == "--rounds")
    return context_child(a[2], std::atoi(a[4].c_str()));
  if (a.size() == 4 && a[0] == "threads") {
    return threads(std::atoi(a[2].c_str()), std::atoi(a[3].c_str()));
  }
  std::fprintf(
      stderr,
      "usage: faultmux_shim_probe "
      "stream|pipe|accepts|fork|threads|peers|channels|late-exec|starts|exec-self|kills DIR ...\n");
  return 2;
}
