// The syscall shim: an LD_PRELOAD library that interposes the socket and
// stream calls of any program (the faultmux mux, a CPython Mitogen listener)
// and injects the faults named by FAULTMUX_FAULTS / FAULTMUX_FAULTS_FILE.
// See faults/README.md for the rule syntax and the semantics.
//
// Constraints that shape this file:
// - wrappers may run before the constructor, from other constructors, in
//   signal handlers and in many threads: real functions are resolved lazily
//   with a relaxed atomic (dlsym is idempotent), the decision path takes no
//   lock and allocates nothing, and the event log is formatted on the stack
//   and written with one write(2);
// - without rules a wrapper does one relaxed load and forwards;
// - nothing here throws (built with -fno-exceptions) and the shim's own
//   I/O goes through the real functions, never the wrappers.
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faults/decide.hpp"
#include "faults/rules.hpp"
#include "faults/shim_conn.hpp"
#include "faults/shim_proc.hpp"
#include "wire/event_line.hpp"
#include "wire/event_names.hpp"

#define FAULTMUX_EXPORT __attribute__((visibility("default")))

namespace faultmux::faults {
namespace {

// ---------------------------------------------------------------------------
// Real functions. Each is looked up once with dlsym(RTLD_NEXT); racing
// threads store the same value. If the lookup fails (a static libc, an odd
// loader) the raw system call stands in.

using accept_fn = int(int, sockaddr*, socklen_t*);
using accept4_fn = int(int, sockaddr*, socklen_t*, int);
using connect_fn = int(int, const sockaddr*, socklen_t);
using socketpair_fn = int(int, int, int, int*);
using recv_fn = ssize_t(int, void*, size_t, int);
using recvfrom_fn = ssize_t(int, void*, size_t, int, sockaddr*, socklen_t*);
using recvmsg_fn = ssize_t(int, msghdr*, int);
using read_fn = ssize_t(int, void*, size_t);
using readv_fn = ssize_t(int, const iovec*, int);
using send_fn = ssize_t(int, const void*, size_t, int);
using sendto_fn = ssize_t(int, const void*, size_t, int, const sockaddr*, socklen_t);
using sendmsg_fn = ssize_t(int, const msghdr*, int);
using write_fn = ssize_t(int, const void*, size_t);
using writev_fn = ssize_t(int, const iovec*, int);
using fork_fn = pid_t();
using execve_fn = int(const char*, char* const*, char* const*);
using kill_fn = int(pid_t, int);
using close_fn = int(int);
using dup_fn = int(int);
using dup2_fn = int(int, int);
using dup3_fn = int(int, int, int);
using fcntl_fn = int(int, int, ...);
using read_chk_fn = ssize_t(int, void*, size_t, size_t);
using recv_chk_fn = ssize_t(int, void*, size_t, size_t, int);
using recvfrom_chk_fn = ssize_t(int, void*, size_t, size_t, int, sockaddr*, socklen_t*);

int sys_accept(int fd, sockaddr* a, socklen_t* l) {
  return syscall(SYS_accept, fd, a, l);
}
int sys_accept4(int fd, sockaddr* a, socklen_t* l, int f) {
  return syscall(SYS_accept4, fd, a, l, f);
}
int sys_connect(int fd, const sockaddr* a, socklen_t l) {
  return syscall(SYS_connect, fd, a, l);
}
int sys_socketpair(int d, int t, int p, int* sv) {
  return syscall(SYS_socketpair, d, t, p, sv);
}
ssize_t sys_recv(int fd, void* b, size_t n, int f) {
  return syscall(SYS_recvfrom, fd, b, n, f, nullptr, nullptr);
}
ssize_t sys_recvfrom(int fd, void* b, size_t n, int f, sockaddr* a, socklen_t* l) {
  return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
ssize_t sys_recvmsg(int fd, msghdr* m, int f) {
  return syscall(SYS_recvmsg, fd, m, f);
}
ssize_t sys_read(int fd, void* b, size_t n) {
  return syscall(SYS_read, fd, b, n);
}
ssize_t sys_readv(int fd, const iovec* v, int n) {
  return syscall(SYS_readv, fd, v, n);
}
ssize_t sys_send(int fd, const void* b, size_t n, int f) {
  return syscall(SYS_sendto, fd, b, n, f, nullptr, 0);
}
ssize_t sys_sendto(int fd, const void* b, size_t n, int f, const sockaddr* a, socklen_t l) {
  return syscall(SYS_sendto, fd, b, n, f, a, l);
}
ssize_t sys_sendmsg(int fd, const msghdr* m, int f) {
  return syscall(SYS_sendmsg, fd, m, f);
}
ssize_t sys_write(int fd, const void* b, size_t n) {
  return syscall(SYS_write, fd, b, n);
}
ssize_t sys_writev(int fd, const iovec* v, int n) {
  return syscall(SYS_writev, fd, v, n);
}
// A raw fork would skip glibc's atfork handlers and its own locks: without
// the real fork the call fails instead.
pid_t no_fork() {
  errno = ENOSYS;
  return -1;
}
int sys_execve(const char* path, char* const* argv, char* const* envp) {
  return syscall(SYS_execve, path, argv, envp);
}
int sys_kill(pid_t pid, int sig) {
  return static_cast<int>(syscall(SYS_kill, pid, sig));
}
int sys_close(int fd) {
  return syscall(SYS_close, fd);
}
int sys_dup(int fd) {
  return syscall(SYS_dup, fd);
}
int sys_dup2(int a, int b) {
  if (a == b) return syscall(SYS_fcntl, a, F_GETFD) < 0 ? -1 : b;
  return syscall(SYS_dup3, a, b, 0);
}
int sys_dup3(int a, int b, int f) {
  return syscall(SYS_dup3, a, b, f);
}
int sys_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return syscall(SYS_fcntl, fd, cmd, arg);
}
// The _chk variants only reach the real function to report an overflow.
ssize_t sys_read_chk(int, void*, size_t, size_t) {
  abort();
}
ssize_t sys_recv_chk(int, void*, size_t, size_t, int) {
  abort();
}
ssize_t sys_recvfrom_chk(int, void*, size_t, size_t, int, sockaddr*, socklen_t*) {
  abort();
}

template <typename Fn>
Fn* resolve(std::atomic<void*>& slot, const char* name, Fn* fallback) {
  void* p = slot.load(std::memory_order_relaxed);
  if (__builtin_expect(p == nullptr, 0)) {
    p = dlsym(RTLD_NEXT, name);
    if (p == nullptr) p = reinterpret_cast<void*>(fallback);
    slot.store(p, std::memory_order_relaxed);
  }
  return reinterpret_cast<Fn*>(p);
}

// `type` is a function type, which parentheses would break.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define FAULTMUX_REAL(fn, type, symbol, fallback)      \
  type* real_##fn() {                                  \
    static constinit std::atomic<void*> slot{nullptr}; \
    return resolve<type>(slot, symbol, fallback);      \
  }
// NOLINTEND(bugprone-macro-parentheses)

FAULTMUX_REAL(accept, accept_fn, "accept", sys_accept)
FAULTMUX_REAL(accept4, accept4_fn, "accept4", sys_accept4)
FAULTMUX_REAL(connect, connect_fn, "connect", sys_connect)
FAULTMUX_REAL(socketpair, socketpair_fn, "socketpair", sys_socketpair)
FAULTMUX_REAL(recv, recv_fn, "recv", sys_recv)
FAULTMUX_REAL(recvfrom, recvfrom_fn, "recvfrom", sys_recvfrom)
FAULTMUX_REAL(recvmsg, recvmsg_fn, "recvmsg", sys_recvmsg)
FAULTMUX_REAL(read, read_fn, "read", sys_read)
FAULTMUX_REAL(readv, readv_fn, "readv", sys_readv)
FAULTMUX_REAL(send, send_fn, "send", sys_send)
FAULTMUX_REAL(sendto, sendto_fn, "sendto", sys_sendto)
FAULTMUX_REAL(sendmsg, sendmsg_fn, "sendmsg", sys_sendmsg)
FAULTMUX_REAL(write, write_fn, "write", sys_write)
FAULTMUX_REAL(writev, writev_fn, "writev", sys_writev)
FAULTMUX_REAL(fork, fork_fn, "fork", no_fork)
FAULTMUX_REAL(execve, execve_fn, "execve", sys_execve)
FAULTMUX_REAL(kill, kill_fn, "kill", sys_kill)
FAULTMUX_REAL(close, close_fn, "close", sys_close)
FAULTMUX_REAL(dup, dup_fn, "dup", sys_dup)
FAULTMUX_REAL(dup2, dup2_fn, "dup2", sys_dup2)
FAULTMUX_REAL(dup3, dup3_fn, "dup3", sys_dup3)
FAULTMUX_REAL(fcntl, fcntl_fn, "fcntl", sys_fcntl)
FAULTMUX_REAL(fcntl64, fcntl_fn, "fcntl64", sys_fcntl)
FAULTMUX_REAL(read_chk, read_chk_fn, "__read_chk", sys_read_chk)
FAULTMUX_REAL(recv_chk, recv_chk_fn, "__recv_chk", sys_recv_chk)
FAULTMUX_REAL(recvfrom_chk, recvfrom_chk_fn, "__recvfrom_chk", sys_recvfrom_chk)

#undef FAULTMUX_REAL

// ---------------------------------------------------------------------------
// Configuration, fixed by the constructor (and, in a fork child, by the
// atfork handler while the child is still single-threaded).

constexpr std::size_t max_rules = 64;
constexpr std::uint32_t tracking_bit = 1u << 31;

struct config {
  std::vector<rule> rules;
  std::vector<std::string> effects;  // effect_text of each rule
  char role[64] = {};
  char self[max_peer_name + 1] = {};  // this process's own FAULTMUX_PEER, for self=
  std::int64_t index = 0;
  std::uint64_t stream = 0;
  char log_path[4096] = {};
  // An exec is counted in the process that forked: in a fork child, the
  // number of its fork there (0: not a fork child), and that process's
  // index and stream.
  std::uint64_t forked_as = 0;
  std::int64_t exec_index = 0;
  std::uint64_t exec_stream = 0;
};

// Bit i: call i has a rule that applies to this process; tracking_bit: fd
// classes and connection phases are being tracked. Zero means the shim is inert.
constinit std::atomic<std::uint32_t> g_active{0};
config* g_cfg = nullptr;  // never freed: other threads may still call in at exit
bool g_enabled[max_rules] = {};
// Peers are looked up at accept, while the client surely lives, when a rule
// selects by peer or the log names them.
bool g_peers_at_accept = false;
constinit std::atomic<std::uint64_t> g_counts[max_rules] = {};
// The fork calls of this process so far: injected failures too, so the Nth
// fork call is fork N for a `fork #N` rule and for its child's `execve #N`.
constinit std::atomic<std::uint64_t> g_forks{0};
// The process the tables belong to. A vfork child shares its parent's memory
// until it execs, so it must not write the parent's fd table.
constinit std::atomic<pid_t> g_pid{0};
__attribute__((tls_model("initial-exec"))) thread_local std::uint64_t t_fork_ordinal = 0;
// The fork wrapper numbered this thread's fork already: the atfork handler
// must not number it again.
__attribute__((tls_model("initial-exec"))) thread_local bool t_fork_numbered = false;

// ---------------------------------------------------------------------------
// Fd classes. An entry is (socket inode << 3) | class, so a stale entry (the
// fd closed behind our back by fclose, close_range or a raw syscall, and its
// number reused) is recognised at use by its inode and dropped.

constexpr int fd_table_size = 1 << 16;
constinit std::atomic<std::uint64_t> g_fds[fd_table_size] = {};

std::uint64_t socket_inode(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  return static_cast<std::uint64_t>(st.st_ino);
}

bool in_table(int fd) {
  return fd >= 0 && fd < fd_table_size;
}

bool own_memory() {
  return ::getpid() == g_pid.load(std::memory_order_relaxed);
}

// Records fd's class and returns its socket inode (0: none, or not in the table).
std::uint64_t remember(int fd, fd_class c) {
  if (!in_table(fd)) return 0;
  int saved = errno;
  std::uint64_t ino = socket_inode(fd);
  g_fds[fd].store(ino ? (ino << 3) | static_cast<std::uint64_t>(c) : 0, std::memory_order_relaxed);
  errno = saved;
  return ino;
}

// An accepted fd: its class, and its peer while the client is surely alive.
void note_accepted(int fd) {
  std::uint64_t ino = remember(fd, fd_class::accepted);
  if (!g_peers_at_accept || ino == 0) return;
  int saved = errno;
  conn::peer_info p;
  conn::peer_of(fd, ino, fd_class::accepted, p);
  errno = saved;
}

void forget(int fd) {
  if (in_table(fd) && g_fds[fd].load(std::memory_order_relaxed) != 0) {
    g_fds[fd].store(0, std::memory_order_relaxed);
  }
  conn::forget(fd);
}

// A dup shares the socket, so it shares the class and the connection.
void copy_class(int from, int to) {
  if (!in_table(to)) return;
  std::uint64_t e = in_table(from) ? g_fds[from].load(std::memory_order_relaxed) : 0;
  g_fds[to].store(e, std::memory_order_relaxed);
  conn::copy(from, to);
}

// A successful dup (r >= 0) of `from` keeps its class, when classes are kept.
void note_dup(int from, int r) {
  if (r >= 0 && r != from && (g_active.load(std::memory_order_relaxed) & tracking_bit) &&
      own_memory())
    copy_class(from, r);
}

// fcntl and fcntl64 alike: F_DUPFD and F_DUPFD_CLOEXEC are dups too.
template <class Real>
int fcntl_keeping_class(Real real, int fd, int cmd, void* arg) {
  int r = real(fd, cmd, arg);
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) note_dup(fd, r);
  return r;
}

// Per-fd counters of `per-fd` rules: entry (socket inode << 24) | count,
// so a counter whose fd number was reused by another socket starts afresh.
// Untouched pages of this table cost no memory.
constexpr std::uint64_t per_fd_count_bits = 24;
constexpr std::uint64_t per_fd_count_max = (std::uint64_t{1} << per_fd_count_bits) - 1;
constinit std::atomic<std::uint64_t> g_fd_counts[max_per_fd_rules][fd_table_size] = {};
// Rule i's row in g_fd_counts, or -1 when it counts per process.
std::int8_t g_fd_slot[max_rules] = {};

// Counts one call on fd, the socket `ino`, for the per-fd rule in `slot`; 0
// when the fd is not a tracked socket (the rule then never fires on it).
std::uint64_t count_per_fd(int slot, int fd, std::uint64_t ino) {
  if (!in_table(fd) || ino == 0) return 0;
  std::atomic<std::uint64_t>& c = g_fd_counts[slot][fd];
  std::uint64_t old = c.load(std::memory_order_relaxed), next;
  do {
    std::uint64_t n = (old >> per_fd_count_bits) == ino ? (old & per_fd_count_max) : 0;
    if (n < per_fd_count_max) ++n;
    next = (ino << per_fd_count_bits) | n;
  } while (!c.compare_exchange_weak(old, next, std::memory_order_relaxed));
  return next & per_fd_count_max;
}

fd_class classify(int fd) {
  if (in_table(fd)) {
    std::uint64_t e = g_fds[fd].load(std::memory_order_relaxed);
    if (e != 0) {
      std::uint64_t ino = socket_inode(fd);
      if (ino != 0 && ((ino << 3) | (e & 7)) == e) return static_cast<fd_class>(e & 7);
      g_fds[fd].compare_exchange_strong(e, 0, std::memory_order_relaxed);
    }
  }
  int listening = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) return fd_class::other;
  if (listening) return fd_class::listener;
  // A channel this process did not make (inherited, as a context's fd 3):
  // recognised once, then kept like the others.
  if (!proc::is_channel_socket(fd)) return fd_class::other;
  if (own_memory()) remember(fd, fd_class::channel);
  return fd_class::channel;
}

// Both ends of a socketpair are channels, each the other's peer.
void note_socketpair(const int* sv) {
  std::uint64_t a = remember(sv[0], fd_class::channel);
  std::uint64_t b = remember(sv[1], fd_class::channel);
  conn::note_pair(sv[0], a, b);
  conn::note_pair(sv[1], b, a);
}

// ---------------------------------------------------------------------------
// The event log: one JSON line per injected fault, built on the stack and
// appended with a single write(2) on an O_APPEND fd (atomic among writers).

constinit std::atomic<int> g_log_fd{-1};
constinit std::atomic<std::uint64_t> g_log_dev{0};
constinit std::atomic<std::uint64_t> g_log_ino{0};

void remember_log(const struct stat& st) {
  g_log_dev.store(st.st_dev, std::memory_order_relaxed);
  g_log_ino.store(st.st_ino, std::memory_order_relaxed);
}

int open_log(const char* path) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  // Keep the log fd out of the low numbers programs reuse and dup2 onto.
  int high = real_fcntl()(fd, F_DUPFD_CLOEXEC, 512);
  if (high >= 0) {
    real_close()(fd);
    fd = high;
  }
  return fd;
}

// The log fd, reopened if the program closed or replaced it (close_range,
// dup2 onto it): the inode tells ours from whatever now has the number,
// which is left alone (it is the program's now).
int log_fd() {
  int fd = g_log_fd.load(std::memory_order_relaxed);
  if (fd < 0 || g_cfg == nullptr || g_cfg->log_path[0] == '\0') return fd;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_ino == g_log_ino.load(std::memory_order_relaxed) &&
      st.st_dev == g_log_dev.load(std::memory_order_relaxed)) {
    return fd;
  }
  int fresh = open_log(g_cfg->log_path);
  if (fresh < 0 || ::fstat(fresh, &st) != 0) return -1;
  if (!g_log_fd.compare_exchange_strong(fd, fresh, std::memory_order_relaxed)) {
    real_close()(fresh);  // another thread reopened first
    return fd;
  }
  remember_log(st);
  return fresh;
}

constexpr std::int64_t no_value = INT64_MIN;

struct hit {
  int rule = -1;
  std::uint64_t n = 0;
  fd_class cls = fd_class::any;
  conn_phase phase = conn_phase::none;
  std::uint64_t ino = 0;     // the fd's socket inode, 0: none
  std::uint64_t conn_n = 0;  // the call's number by name and phase on its socket, 0: none
  bool would_block = false;  // a non-blocking call on a socket that is not ready: EAGAIN
};

// The fields that name the call's connection: enough, with call and
// fd_class, to write a rule that addresses this one call (docs/faults.md
// "Addressing a single call").
void log_connection(wire::fixed_event_line& l, int fd, const hit& h) {
  conn::peer_info p;
  conn::peer_of(fd, h.ino, h.cls, p);
  l.field("peer", std::string_view(p.name));
  if (p.pid > 0) l.field("peer_pid", p.pid);
  l.field("phase", conn_phase_name(h.phase));
  if (h.conn_n > 0) l.field("conn_n", h.conn_n);
}

void log_fault(call c, int fd, const hit& h, std::int64_t ret = no_value, int err = 0,
               std::int64_t offset = no_value) {
  int saved = errno;
  int out = log_fd();
  if (out < 0) {
    errno = saved;
    return;
  }
  const config& cfg = *g_cfg;
  const rule& r = cfg.rules[h.rule];
  char buf[2048];
  wire::fixed_event_line l(buf, sizeof buf);
  l.begin(wire::event_clock(), ::getpid(), cfg.role);
  l.field("index", cfg.index);
  if (cfg.self[0] != '\0') l.field("self", std::string_view(cfg.self));
  l.field("event", wire::ev::fault);
  l.field("call", call_name(c));
  // A process call (fd -1) has no fd, class, peer or phase.
  if (fd >= 0) {
    l.field("fd", fd);
    l.field("fd_class", fd_class_name(h.cls));
    log_connection(l, fd, h);
  }
  l.field("rule", static_cast<std::uint64_t>(h.rule) + 1);
  l.field("rule_text", r.text.size() > 512 ? std::string_view(r.text).substr(0, 512) : r.text);
  l.field("n", h.n);
  l.field("effect", cfg.effects[h.rule]);
  if (ret != no_value) {
    l.field("ret", ret);
    if (ret < 0) {
      if (const char* name = errno_name(err)) {
        l.field("errno", name);
      } else {
        l.field("errno", err);
      }
    }
  }
  if (offset != no_value) l.field("offset", offset);
  std::string_view s = l.finish();
  while (real_write()(out, s.data(), s.size()) < 0 && errno == EINTR) {
  }
  errno = saved;
}

// ---------------------------------------------------------------------------
// Decisions.

void sleep_us(std::uint64_t us) {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += static_cast<time_t>(us / 1'000'000);
  t.tv_nsec += static_cast<long>(us % 1'000'000) * 1000;
  if (t.tv_nsec >= 1'000'000'000) {
    t.tv_sec += 1;
    t.tv_nsec -= 1'000'000'000;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
  }
}

// Whether the call would make progress rather than fail with EAGAIN. Only
// such calls are counted: a non-blocking fd that is not ready (the
// speculative and the final read of an edge-triggered reactor) gets a
// natural EAGAIN whose number depends on timing, and counting it would make
// "#2" land on a different call in every run.
enum class progress { yes, would_block, no };

progress makes_progress(call c, int fd, int flags) {
  if (c == call::connect) return progress::yes;
  short want = (bit(c) & send_like) ? POLLOUT : POLLIN;
  pollfd p{fd, want, 0};
  if (::poll(&p, 1, 0) > 0) {
    if (p.revents & POLLNVAL) return progress::no;
    if (p.revents & (want | POLLERR | POLLHUP)) return progress::yes;
  }
  // Not ready: a blocking call waits until it is, a non-blocking one fails.
  if (flags & MSG_DONTWAIT) return progress::would_block;
  int fl = real_fcntl()(fd, F_GETFL, 0);
  if (fl < 0) return progress::no;
  return (fl & O_NONBLOCK) ? progress::would_block : progress::yes;
}

// What decide() learns about a call's fd, each part found on first need:
// most calls are decided on the call name alone.
class call_view {
 public:
  call_view(call c, int fd, fd_class known) : c_(c), fd_(fd), cls_(known) {}

  fd_class cls() {
    if (cls_ == fd_class::any) cls_ = classify(fd_);
    return cls_;
  }

  // The socket inode of a tracked fd (as classify checked it) or of any
  // other socket; 0 for the rest.
  std::uint64_t ino() {
    if (!ino_) {
      fd_class k = cls();
      if ((k == fd_class::accepted || k == fd_class::connecting || k == fd_class::channel) &&
          in_table(fd_)) {
        ino_ = g_fds[fd_].load(std::memory_order_relaxed) >> 3;
      } else {
        ino_ = socket_inode(fd_);
      }
    }
    return *ino_;
  }

  // The inode of a listener or tracked socket, which per-fd rules count on.
  std::uint64_t tracked_ino() { return cls() == fd_class::other ? 0 : ino(); }

  conn_phase phase() {
    if (bit(c_) & accept_like) return conn_phase::accept;
    if (c_ == call::connect) return conn_phase::connect;
    fd_class k = cls();
    // A channel is connected when it is made: it has no handshake.
    if (k == fd_class::channel) return conn_phase::stream;
    if (k != fd_class::accepted && k != fd_class::connecting) return conn_phase::none;
    if (!phase_) phase_ = conn::data_phase(fd_, ino());
    return *phase_;
  }

  std::string_view peer() {
    if (!peer_) {
      peer_.emplace();
      conn::peer_of(fd_, ino(), cls(), *peer_);
    }
    return peer_->name;
  }

  // The per-connection number of a counted call, on listeners and tracked sockets.
  std::uint64_t count() { return conn::count_call(fd_, tracked_ino(), c_, phase()); }

 private:
  call c_;
  int fd_;
  fd_class cls_;
  std::optional<std::uint64_t> ino_;
  std::optional<conn_phase> phase_;
  std::optional<conn::peer_info> peer_;
};

// Class, phase and peer: a rule's selectors other than its occurrence.
bool addresses(const rule& r, call_view& v) {
  if (r.cls != fd_class::any && v.cls() != r.cls) return false;
  if (r.phase != conn_phase::any && v.phase() != r.phase) return false;
  // Only an accepted socket can have the probe at its other end: other
  // calls need no peer for a rule without peer=.
  if (r.peer.empty() && v.cls() != fd_class::accepted) return true;
  return peer_matches(r, v.peer());
}

// Counts the call for every rule that addresses it and returns the first
// rule that fires. A rule whose selectors do not all pass does not count
// the call. `known` is the fd class when the call itself implies it.
hit decide(call c, int fd, int flags, fd_class known) {
  // Pairs with the release store of g_active: the wrapper's relaxed load saw
  // a rule, so the configuration behind it is visible.
  std::atomic_thread_fence(std::memory_order_acquire);
  hit h;
  const config& cfg = *g_cfg;
  call_view v(c, fd, known);
  std::optional<progress> moves;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const rule& r = cfg.rules[i];
    if (!g_enabled[i] || !(r.calls & bit(c)) || !addresses(r, v)) continue;
    if (!moves) moves = makes_progress(c, fd, flags);
    // A call that would block is not counted, so it must not move data
    // either: data that arrives after the poll would otherwise pass a rule
    // that never saw it. It fails as it would have at the poll.
    if (*moves == progress::would_block) return hit{.would_block = true};
    if (*moves == progress::no) return hit{};
    std::uint64_t n = g_fd_slot[i] >= 0 ? count_per_fd(g_fd_slot[i], fd, v.tracked_ino())
                                        : g_counts[i].fetch_add(1, std::memory_order_relaxed) + 1;
    // Call 0: a per-fd rule on an untracked fd, which only an every-call rule hits.
    bool numbered = n > 0 || r.occ == occurrence::every_call;
    if (h.rule < 0 && numbered && fires(r, cfg.stream, i, n)) {
      h.rule = static_cast<int>(i);
      h.n = n;
    }
  }
  if (!moves) return h;  // no rule addresses the call: nothing counted
  // Counted by name and phase whether a rule fires or not, so the number a
  // trace logs is the one a per-fd rule with the same selectors counts.
  h.conn_n = v.count();
  if (h.rule >= 0) {
    h.cls = v.cls();
    h.phase = v.phase();
    h.ino = v.ino();
  }
  return h;
}

hit decide_keep_errno(call c, int fd, int flags, fd_class known) {
  int saved = errno;
  hit h = decide(c, fd, flags, known);
  errno = saved;
  return h;
}

const rule& rule_of(const hit& h) {
  return g_cfg->rules[static_cast<std::size_t>(h.rule)];
}

// ---------------------------------------------------------------------------
// Data calls. Every recv-like and send-like call is described as an iovec
// array so that short transfers, bytewise sends and flips are written once.

constexpr int slice_max = 64;
constexpr std::size_t bytewise_max = 4096;

// The bytes [off, off + len) of an iovec array (at most slice_max pieces:
// past that the transfer is simply shorter, which is still a valid one).
int slice(const iovec* src, int cnt, std::size_t off, std::size_t len, iovec* out) {
  int n = 0;
  for (int i = 0; i < cnt && len > 0 && n < slice_max; ++i) {
    std::size_t l = src[i].iov_len;
    if (off >= l) {
      off -= l;
      continue;
    }
    std::size_t take = std::min(l - off, len);
    out[n++] = iovec{static_cast<char*>(src[i].iov_base) + off, take};
    len -= take;
    off = 0;
  }
  return n;
}

std::size_t total_len(const iovec* iov, int cnt) {
  std::size_t t = 0;
  for (int i = 0; i < cnt; ++i) t += iov[i].iov_len;
  return t;
}

unsigned char* byte_at(const iovec* iov, int cnt, std::size_t off) {
  for (int i = 0; i < cnt; ++i) {
    if (off < iov[i].iov_len) return static_cast<unsigned char*>(iov[i].iov_base) + off;
    off -= iov[i].iov_len;
  }
  return nullptr;
}

// After a data call: the connection's first answered exchange ends its
// handshake. That is the first send-like call moving at least one byte on
// an accepted fd (the server's reply to the hello) and the first recv-like
// call returning at least one byte on a connecting fd (the client got it).
void note_transfer(call c, int fd, ssize_t ret) {
  if (ret <= 0 || !in_table(fd)) return;
  std::uint64_t e = g_fds[fd].load(std::memory_order_relaxed);
  auto cls = static_cast<fd_class>(e & 7);
  bool answered = (cls == fd_class::accepted && (bit(c) & send_like)) ||
                  (cls == fd_class::connecting && (bit(c) & recv_like));
  if (answered && conn::in_handshake(fd, e >> 3) && own_memory()) conn::mark_stream(fd, e >> 3);
}

struct rx_call {
  call c;
  int fd;
  int flags;
  iovec one;  // the buffer of recv, recvfrom and read
  const iovec* iov;
  int iovcnt;
  sockaddr* from = nullptr;  // recvfrom
  socklen_t* fromlen = nullptr;
  msghdr* msg = nullptr;  // recvmsg
};

ssize_t rx_real(const rx_call& x, const iovec* iov, int cnt) {
  void* base = cnt > 0 ? iov[0].iov_base : x.one.iov_base;
  std::size_t len = cnt > 0 ? iov[0].iov_len : 0;
  switch (x.c) {
    case call::recv:
      return real_recv()(x.fd, base, len, x.flags);
    case call::recvfrom:
      return real_recvfrom()(x.fd, base, len, x.flags, x.from, x.fromlen);
    case call::read:
      return real_read()(x.fd, base, len);
    case call::readv:
      return real_readv()(x.fd, iov, cnt);
    case call::recvmsg: {
      if (iov == x.iov) return real_recvmsg()(x.fd, x.msg, x.flags);
      msghdr m = *x.msg;
      m.msg_iov = const_cast<iovec*>(iov);
      m.msg_iovlen = static_cast<std::size_t>(cnt);
      ssize_t r = real_recvmsg()(x.fd, &m, x.flags);
      x.msg->msg_namelen = m.msg_namelen;
      x.msg->msg_controllen = m.msg_controllen;
      x.msg->msg_flags = m.msg_flags;
      return r;
    }
    default:
      errno = ENOSYS;
      return -1;
  }
}

ssize_t rx_apply(const rx_call& x) {
  hit h = decide_keep_errno(x.c, x.fd, x.flags, fd_class::any);
  if (h.would_block) {
    errno = EAGAIN;
    return -1;
  }
  if (h.rule < 0) return rx_real(x, x.iov, x.iovcnt);
  const rule& r = rule_of(h);
  switch (r.eff) {
    case effect::fail:
      log_fault(x.c, x.fd, h);
      errno = r.err;
      return -1;
    case effect::eof:
      log_fault(x.c, x.fd, h, 0);
      return 0;
    case effect::delay:
      log_fault(x.c, x.fd, h);
      sleep_us(r.amount);
      return rx_real(x, x.iov, x.iovcnt);
    case effect::trace: {
      int saved = errno;
      log_fault(x.c, x.fd, h);
      errno = saved;
      return rx_real(x, x.iov, x.iovcnt);
    }
    case effect::shorten:
    case effect::bytewise: {
      iovec part[slice_max];
      std::size_t limit = r.eff == effect::bytewise ? 1 : r.amount;
      int n = slice(x.iov, x.iovcnt, 0, limit, part);
      ssize_t ret = rx_real(x, part, n);
      int err = errno;
      log_fault(x.c, x.fd, h, ret, err);
      errno = err;
      return ret;
    }
    case effect::flip: {
      ssize_t ret = rx_real(x, x.iov, x.iovcnt);
      int err = errno;
      std::int64_t offset = -1;
      // MSG_TRUNC may report more than the buffer holds: flip inside it.
      std::size_t got =
          std::min(static_cast<std::size_t>(ret > 0 ? ret : 0), total_len(x.iov, x.iovcnt));
      if (got > 0) {
        std::size_t off = std::min<std::size_t>(r.amount, got - 1);
        if (unsigned char* b = byte_at(x.iov, x.iovcnt, off)) {
          *b ^= 0xff;
          offset = static_cast<std::int64_t>(off);
        }
      }
      log_fault(x.c, x.fd, h, ret, err, offset);
      errno = err;
      return ret;
    }
  }
  return rx_real(x, x.iov, x.iovcnt);
}

ssize_t rx_run(const rx_call& x) {
  ssize_t r = rx_apply(x);
  note_transfer(x.c, x.fd, r);
  return r;
}

struct tx_call {
  call c;
  int fd;
  int flags;
  const iovec* iov;
  int iovcnt;
  const sockaddr* to = nullptr;  // sendto
  socklen_t tolen = 0;
  const msghdr* msg = nullptr;  // sendmsg
};

// Control messages (SCM_RIGHTS) travel with the first piece only.
ssize_t tx_real(const tx_call& x, const iovec* iov, int cnt, bool with_control) {
  const void* base = cnt > 0 ? iov[0].iov_base : nullptr;
  std::size_t len = cnt > 0 ? iov[0].iov_len : 0;
  switch (x.c) {
    case call::send:
      return real_send()(x.fd, base, len, x.flags);
    case call::sendto:
      return real_sendto()(x.fd, base, len, x.flags, x.to, x.tolen);
    case call::write:
      return real_write()(x.fd, base, len);
    case call::writev:
      return real_writev()(x.fd, iov, cnt);
    case call::sendmsg: {
      if (iov == x.iov && with_control) return real_sendmsg()(x.fd, x.msg, x.flags);
      msghdr m = *x.msg;
      m.msg_iov = const_cast<iovec*>(iov);
      m.msg_iovlen = static_cast<std::size_t>(cnt);
      if (!with_control) {
        m.msg_control = nullptr;
        m.msg_controllen = 0;
      }
      return real_sendmsg()(x.fd, &m, x.flags);
    }
    default:
      errno = ENOSYS;
      return -1;
  }
}

// Each byte is its own real call, so the peer can see the data arrive one
// byte at a time; the caller sees an ordinary (maybe short) write.
ssize_t tx_bytewise(const tx_call& x, const hit& h) {
  std::size_t limit = std::min(total_len(x.iov, x.iovcnt), bytewise_max);
  ssize_t ret = 0;
  int err = 0;
  if (limit == 0) {
    ret = tx_real(x, x.iov, x.iovcnt, true);
    err = errno;
  }
  for (std::size_t i = 0; i < limit; ++i) {
    iovec part[1];
    int n = slice(x.iov, x.iovcnt, i, 1, part);
    ssize_t r1 = tx_real(x, part, n, i == 0);
    if (r1 <= 0) {
      if (i == 0) {
        ret = r1;
        err = errno;
      }
      break;
    }
    ret += r1;
  }
  log_fault(x.c, x.fd, h, ret, err);
  errno = err;
  return ret;
}

// The caller's buffer is const: send a flipped copy of the bytes up to and
// including byte `at` (a short write when there are more).
ssize_t tx_flip(const tx_call& x, const hit& h, std::size_t at) {
  std::size_t total = total_len(x.iov, x.iovcnt);
  if (total == 0) {
    ssize_t ret = tx_real(x, x.iov, x.iovcnt, true);
    int err = errno;
    log_fault(x.c, x.fd, h, ret, err, -1);
    errno = err;
    return ret;
  }
  unsigned char copy[max_flip_offset + 1];
  std::size_t m = std::min<std::size_t>(total, at + 1);
  std::size_t done = 0;
  for (int i = 0; i < x.iovcnt && done < m; ++i) {
    std::size_t take = std::min(x.iov[i].iov_len, m - done);
    std::memcpy(copy + done, x.iov[i].iov_base, take);
    done += take;
  }
  copy[m - 1] ^= 0xff;
  iovec one{copy, m};
  ssize_t ret = tx_real(x, &one, 1, true);
  int err = errno;
  // A short write that stops before the flipped byte did not send it.
  std::int64_t offset = ret >= static_cast<ssize_t>(m) ? static_cast<std::int64_t>(m - 1) : -1;
  log_fault(x.c, x.fd, h, ret, err, offset);
  errno = err;
  return ret;
}

ssize_t tx_apply(const tx_call& x) {
  hit h = decide_keep_errno(x.c, x.fd, x.flags, fd_class::any);
  if (h.would_block) {
    errno = EAGAIN;
    return -1;
  }
  if (h.rule < 0) return tx_real(x, x.iov, x.iovcnt, true);
  const rule& r = rule_of(h);
  switch (r.eff) {
    case effect::fail:
      log_fault(x.c, x.fd, h);
      errno = r.err;
      return -1;
    case effect::delay:
      log_fault(x.c, x.fd, h);
      sleep_us(r.amount);
      return tx_real(x, x.iov, x.iovcnt, true);
    case effect::trace: {
      int saved = errno;
      log_fault(x.c, x.fd, h);
      errno = saved;
      return tx_real(x, x.iov, x.iovcnt, true);
    }
    case effect::shorten: {
      iovec part[slice_max];
      int n = slice(x.iov, x.iovcnt, 0, r.amount, part);
      ssize_t ret = tx_real(x, part, n, true);
      int err = errno;
      log_fault(x.c, x.fd, h, ret, err);
      errno = err;
      return ret;
    }
    case effect::bytewise:
      return tx_bytewise(x, h);
    case effect::flip:
      return tx_flip(x, h, r.amount);
    case effect::eof:  // refused for send-like calls by the parser
      break;
  }
  return tx_real(x, x.iov, x.iovcnt, true);
}

ssize_t tx_run(const tx_call& x) {
  ssize_t r = tx_apply(x);
  note_transfer(x.c, x.fd, r);
  return r;
}

// ---------------------------------------------------------------------------
// Connection calls.

int accept_run(call c, int fd, sockaddr* addr, socklen_t* addrlen, int flags) {
  auto real = [&] {
    int r = c == call::accept ? real_accept()(fd, addr, addrlen)
                              : real_accept4()(fd, addr, addrlen, flags);
    if (r >= 0) note_accepted(r);
    return r;
  };
  hit h = decide_keep_errno(c, fd, 0, fd_class::listener);
  if (h.would_block) {
    errno = EAGAIN;
    return -1;
  }
  if (h.rule < 0) return real();
  const rule& r = rule_of(h);
  if (r.eff == effect::fail) {
    log_fault(c, fd, h);
    errno = r.err;
    return -1;
  }
  int saved = errno;
  log_fault(c, fd, h);
  errno = saved;
  if (r.eff == effect::delay) sleep_us(r.amount);
  return real();
}

int connect_run(int fd, const sockaddr* addr, socklen_t len) {
  hit h = decide_keep_errno(call::connect, fd, 0, fd_class::connecting);
  if (h.rule < 0) return real_connect()(fd, addr, len);
  const rule& r = rule_of(h);
  if (r.eff == effect::fail) {
    log_fault(call::connect, fd, h);
    errno = r.err;
    return -1;
  }
  int saved = errno;
  log_fault(call::connect, fd, h);
  errno = saved;
  if (r.eff == effect::delay) sleep_us(r.amount);
  return real_connect()(fd, addr, len);
}

// ---------------------------------------------------------------------------
// Process calls: socketpair, fork, execve, kill. No fd, so only the process
// selectors (role=, self=, applied at load) and the occurrence decide.

// The first rule for call c that fires on call number `n`, or per rule its
// own count when n is not given. Allocation- and lock-free: execve decides
// in a fork child of a multi-threaded program.
hit decide_process(call c, std::optional<std::uint64_t> n, std::uint64_t stream) {
  std::atomic_thread_fence(std::memory_order_acquire);
  hit h;
  const config& cfg = *g_cfg;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const rule& r = cfg.rules[i];
    if (!g_enabled[i] || !(r.calls & bit(c))) continue;
    std::uint64_t k = n ? *n : g_counts[i].fetch_add(1, std::memory_order_relaxed) + 1;
    // Call 0: an exec in no fork child, which only an every-call rule hits.
    bool numbered = k > 0 || r.occ == occurrence::every_call;
    if (h.rule < 0 && numbered && fires(r, stream, i, k)) {
      h.rule = static_cast<int>(i);
      h.n = k;
    }
  }
  return h;
}

// Applies the rule that fires on a process call, if any: false with errno
// set when the call fails; true to make the real call (after a delay).
bool process_call_goes_on(call c, std::optional<std::uint64_t> n, std::uint64_t stream) {
  int saved = errno;
  hit h = decide_process(c, n, stream);
  if (h.rule < 0) {
    errno = saved;
    return true;
  }
  const rule& r = rule_of(h);
  log_fault(c, -1, h);
  if (r.eff == effect::fail) {
    errno = r.err;
    return false;
  }
  errno = saved;
  if (r.eff == effect::delay) sleep_us(r.amount);
  return true;
}

// The fork is numbered here, before the decision, so a failed one has its
// number too; the atfork handler hands the number to the child.
pid_t fork_run() {
  std::uint64_t ordinal = g_forks.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!process_call_goes_on(call::fork, ordinal, g_cfg->stream)) return -1;
  t_fork_ordinal = ordinal;
  t_fork_numbered = true;
  pid_t pid = real_fork()();
  t_fork_numbered = false;
  return pid;
}

// Runs in a fork child of a multi-threaded program, before exec: nothing
// here allocates or locks. A vfork child (posix_spawn, CPython's
// subprocess) shares its parent's memory and is not a fork child the shim
// numbered: its exec is passed through.
int execve_run(const char* path, char* const* argv, char* const* envp) {
  if (own_memory()) {
    const config& cfg = *g_cfg;
    if (!process_call_goes_on(call::execve, cfg.forked_as, cfg.exec_stream)) return -1;
  }
  return real_execve()(path, argv, envp);
}

bool active(std::uint32_t state, call c) {
  return (state & bit(c)) != 0;
}

// A data call no rule addresses still moves its connection's phase on.
ssize_t passed(std::uint32_t state, call c, int fd, ssize_t ret) {
  if (state & tracking_bit) note_transfer(c, fd, ret);
  return ret;
}

// ---------------------------------------------------------------------------
// Start-up and fork.

void write_stderr(std::string_view s) {
  while (!s.empty()) {
    ssize_t n = real_write()(2, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A bad configuration stops the program before it runs: it must never run
// unfaulted while the scenario believes it is faulted.
[[noreturn]] void die(const std::string& message) {
  write_stderr(message);
  _exit(2);
}

bool read_file(const char* path, std::string& out) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  for (;;) {
    ssize_t n = real_read()(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      real_close()(fd);
      errno = err;
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  real_close()(fd);
  return true;
}

bool parse_u64(const char* s, std::uint64_t& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (*s == '-' || *s == '+' || *s == ' ') return false;
  unsigned long long v = std::strtoull(s, &end, hex ? 16 : 10);
  if (errno != 0 || end == s || *end != '\0') return false;
  out = v;
  return true;
}

void apply_process_filters() {
  const config& cfg = *g_cfg;
  std::uint32_t mask = 0;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const rule& r = cfg.rules[i];
    // An exec belongs to the process that forked: role=NAME:INDEX is its index.
    std::int64_t index = (r.calls & bit(call::execve)) ? cfg.exec_index : cfg.index;
    g_enabled[i] = (r.role.empty() || r.role == cfg.role) && (r.index < 0 || r.index == index) &&
                   self_matches(r, cfg.self);
    if (g_enabled[i]) mask |= r.calls;
    if (g_enabled[i] && !r.peer.empty()) g_peers_at_accept = true;
  }
  if (cfg.log_path[0] != '\0') g_peers_at_accept = true;
  g_active.store(mask | tracking_bit, std::memory_order_release);
}

// A fork that did not come through the wrapper (fork rules are not loaded,
// or libc forked for itself) is numbered here.
void on_fork_prepare() {
  if (!t_fork_numbered) t_fork_ordinal = g_forks.fetch_add(1, std::memory_order_relaxed) + 1;
}

// The child gets fresh counters and a stream of its own, derived from the
// parent's and the fork's ordinal: reproducible, and unlike its siblings'.
void on_fork_child() {
  if (g_cfg == nullptr) return;
  g_pid.store(::getpid(), std::memory_order_relaxed);
  std::uint64_t ordinal = t_fork_ordinal;
  g_cfg->forked_as = ordinal;
  g_cfg->exec_index = g_cfg->index;
  g_cfg->exec_stream = g_cfg->stream;
  g_cfg->stream = child_stream(g_cfg->stream, ordinal);
  g_cfg->index += static_cast<std::int64_t>(ordinal);
  for (auto& c : g_counts) c.store(0, std::memory_order_relaxed);
  for (std::size_t i = 0; i < g_cfg->rules.size(); ++i) {
    if (g_fd_slot[i] < 0) continue;
    // Only rows in use, and only entries set: the rest stays untouched zero pages.
    for (auto& c : g_fd_counts[g_fd_slot[i]])
      if (c.load(std::memory_order_relaxed) != 0) c.store(0, std::memory_order_relaxed);
  }
  g_forks.store(0, std::memory_order_relaxed);
  conn::on_fork_child();
  apply_process_filters();
}

// Resolving every real function up front keeps dlsym (and the loader's
// lock) out of later calls, which may come from signal handlers.
void resolve_all() {
  real_accept();
  real_accept4();
  real_connect();
  real_socketpair();
  real_recv();
  real_recvfrom();
  real_recvmsg();
  real_read();
  real_readv();
  real_send();
  real_sendto();
  real_sendmsg();
  real_write();
  real_writev();
  real_fork();
  real_execve();
  real_close();
  real_dup();
  real_dup2();
  real_dup3();
  real_fcntl();
  real_fcntl64();
  real_read_chk();
  real_recv_chk();
  real_recvfrom_chk();
}

// Reads FAULTMUX_FAULTS and FAULTMUX_FAULTS_FILE into cfg's rules (dying on a
// bad one) and gives each per-fd rule its row of counters.
void load_rules(const char* text, const char* file, config& cfg) {
  if (text != nullptr) {
    if (auto err = parse_rules(text, "FAULTMUX_FAULTS", false, cfg.rules)) die(describe(*err));
  }
  if (file != nullptr && *file != '\0') {
    std::string content;
    if (!read_file(file, content)) {
      die(std::string("faultmux shim: cannot read FAULTMUX_FAULTS_FILE ") + file + ": " +
          std::strerror(errno) + "\n");
    }
    if (auto err = parse_rules(content, file, true, cfg.rules)) die(describe(*err));
  }
  if (cfg.rules.size() > max_rules) {
    die("faultmux shim: " + std::to_string(cfg.rules.size()) + " fault rules, at most " +
        std::to_string(max_rules) + " are supported\n");
  }
  for (const rule& r : cfg.rules) cfg.effects.push_back(effect_text(r));
  std::size_t per_fd = 0;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i)
    g_fd_slot[i] = cfg.rules[i].per_fd ? static_cast<std::int8_t>(per_fd++) : -1;
  if (per_fd > max_per_fd_rules) {
    die("faultmux shim: " + std::to_string(per_fd) + " per-fd fault rules, at most " +
        std::to_string(max_per_fd_rules) + " are supported\n");
  }
}

// Who this process is (role, peer name, index) and its random stream, from
// FAULTMUX_SEED, FAULTMUX_INDEX, FAULTMUX_ROLE and FAULTMUX_PEER.
void load_identity(config& cfg) {
  std::uint64_t seed = 0;
  if (const char* s = std::getenv("FAULTMUX_SEED"); s != nullptr && !parse_u64(s, seed)) {
    die(std::string("faultmux shim: FAULTMUX_SEED must be an unsigned integer (decimal or 0x "
                    "hex), got \"") +
        s + "\"\n");
  }
  std::uint64_t index = 0;
  if (const char* s = std::getenv("FAULTMUX_INDEX");
      s != nullptr && (!parse_u64(s, index) || index > static_cast<std::uint64_t>(INT64_MAX))) {
    die(std::string("faultmux shim: FAULTMUX_INDEX must be an unsigned integer, got \"") + s +
        "\"\n");
  }
  if (const char* s = std::getenv("FAULTMUX_ROLE"); s != nullptr) {
    if (std::strlen(s) >= sizeof cfg.role) {
      die(std::string("faultmux shim: FAULTMUX_ROLE is longer than ") +
          std::to_string(sizeof cfg.role - 1) + " characters\n");
    }
    std::strcpy(cfg.role, s);
  }
  // A name too long to be a peer's is no name: self= never matches it.
  if (const char* s = std::getenv("FAULTMUX_PEER");
      s != nullptr && std::strlen(s) < sizeof cfg.self)
    std::strcpy(cfg.self, s);
  // A context started by the mux inherits the mux's environment: its
  // command line (`context ... --name NAME`) says who it is.
  if (proc::own_context_name(cfg.self, sizeof cfg.self)) std::strcpy(cfg.role, "context");
  proc::remember_self(cfg.role);
  cfg.index = static_cast<std::int64_t>(index);
  cfg.stream = process_stream(seed, cfg.role, cfg.index);
  cfg.exec_index = cfg.index;
  cfg.exec_stream = cfg.stream;
}

// Opens FAULTMUX_FAULT_LOG, when set, for the event lines.
void open_fault_log(config& cfg) {
  const char* path = std::getenv("FAULTMUX_FAULT_LOG");
  if (path == nullptr || *path == '\0') return;
  if (std::strlen(path) >= sizeof cfg.log_path)
    die("faultmux shim: FAULTMUX_FAULT_LOG is too long\n");
  std::strcpy(cfg.log_path, path);
  int fd = open_log(path);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    die(std::string("faultmux shim: cannot open FAULTMUX_FAULT_LOG ") + path + ": " +
        std::strerror(errno) + "\n");
  }
  remember_log(st);
  g_log_fd.store(fd, std::memory_order_relaxed);
}

__attribute__((constructor)) void shim_init() {
  resolve_all();
  const char* text = std::getenv("FAULTMUX_FAULTS");
  const char* file = std::getenv("FAULTMUX_FAULTS_FILE");
  if ((text == nullptr || *text == '\0') && (file == nullptr || *file == '\0')) return;

  auto* cfg = new config;
  load_rules(text, file, *cfg);
  if (cfg->rules.empty()) {
    delete cfg;
    return;
  }
  load_identity(*cfg);
  open_fault_log(*cfg);

  g_cfg = cfg;
  g_pid.store(::getpid(), std::memory_order_relaxed);
  pthread_atfork(on_fork_prepare, nullptr, on_fork_child);
  apply_process_filters();
}

}  // namespace
}  // namespace faultmux::faults

// ---------------------------------------------------------------------------
// The interposed symbols: the only ones the shim exports.

namespace ff = faultmux::faults;
using ff::call;

extern "C" {

FAULTMUX_EXPORT int accept(int fd, sockaddr* addr, socklen_t* addrlen) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::accept)) {
    int r = ff::real_accept()(fd, addr, addrlen);
    if (r >= 0 && (st & ff::tracking_bit)) ff::note_accepted(r);
    return r;
  }
  return ff::accept_run(call::accept, fd, addr, addrlen, 0);
}

FAULTMUX_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::accept4)) {
    int r = ff::real_accept4()(fd, addr, addrlen, flags);
    if (r >= 0 && (st & ff::tracking_bit)) ff::note_accepted(r);
    return r;
  }
  return ff::accept_run(call::accept4, fd, addr, addrlen, flags);
}

FAULTMUX_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (st & ff::tracking_bit) ff::remember(fd, ff::fd_class::connecting);
  if (!ff::active(st, call::connect)) return ff::real_connect()(fd, addr, len);
  return ff::connect_run(fd, addr, len);
}

FAULTMUX_EXPORT int socketpair(int domain, int type, int protocol, int sv[2]) {
  if (ff::active(ff::g_active.load(std::memory_order_relaxed), call::socketpair) &&
      !ff::process_call_goes_on(call::socketpair, std::nullopt, ff::g_cfg->stream))
    return -1;
  int r = ff::real_socketpair()(domain, type, protocol, sv);
  if (r == 0 && domain == AF_UNIX && (type & 0xf) == SOCK_STREAM &&
      (ff::g_active.load(std::memory_order_relaxed) & ff::tracking_bit) && ff::own_memory())
    ff::note_socketpair(sv);
  return r;
}

FAULTMUX_EXPORT pid_t fork() {
  if (!ff::active(ff::g_active.load(std::memory_order_relaxed), call::fork))
    return ff::real_fork()();
  return ff::fork_run();
}

FAULTMUX_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  if (!ff::active(ff::g_active.load(std::memory_order_relaxed), call::execve))
    return ff::real_execve()(path, argv, envp);
  return ff::execve_run(path, argv, envp);
}

// A signal to another process (a parent ending its child): EPERM stands for
// a child that changed its uid, which a parent that is not root may not signal.
FAULTMUX_EXPORT int kill(pid_t pid, int sig) {
  if (ff::active(ff::g_active.load(std::memory_order_relaxed), call::kill) &&
      !ff::process_call_goes_on(call::kill, std::nullopt, ff::g_cfg->stream))
    return -1;
  return ff::real_kill()(pid, sig);
}

FAULTMUX_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::recv)) {
    return ff::passed(st, call::recv, fd, ff::real_recv()(fd, buf, len, flags));
  }
  ff::rx_call x{call::recv, fd, flags, iovec{buf, len}, nullptr, 1};
  x.iov = &x.one;
  return ff::rx_run(x);
}

FAULTMUX_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from,
                                 socklen_t* fromlen) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::recvfrom)) {
    return ff::passed(st, call::recvfrom, fd,
                      ff::real_recvfrom()(fd, buf, len, flags, from, fromlen));
  }
  ff::rx_call x{call::recvfrom, fd, flags, iovec{buf, len}, nullptr, 1, from, fromlen};
  x.iov = &x.one;
  return ff::rx_run(x);
}

FAULTMUX_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::recvmsg) || msg == nullptr) {
    return ff::passed(st, call::recvmsg, fd, ff::real_recvmsg()(fd, msg, flags));
  }
  ff::rx_call x{call::recvmsg, fd,           flags,
                iovec{},       msg->msg_iov, static_cast<int>(msg->msg_iovlen),
                nullptr,       nullptr,      msg};
  return ff::rx_run(x);
}

FAULTMUX_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::read)) {
    return ff::passed(st, call::read, fd, ff::real_read()(fd, buf, len));
  }
  ff::rx_call x{call::read, fd, 0, iovec{buf, len}, nullptr, 1};
  x.iov = &x.one;
  return ff::rx_run(x);
}

FAULTMUX_EXPORT ssize_t readv(int fd, const iovec* iov, int iovcnt) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::readv) || iovcnt < 0) {
    return ff::passed(st, call::readv, fd, ff::real_readv()(fd, iov, iovcnt));
  }
  ff::rx_call x{call::readv, fd, 0, iovec{}, iov, iovcnt};
  return ff::rx_run(x);
}

FAULTMUX_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::send)) {
    return ff::passed(st, call::send, fd, ff::real_send()(fd, buf, len, flags));
  }
  iovec one{const_cast<void*>(buf), len};
  return ff::tx_run(ff::tx_call{call::send, fd, flags, &one, 1});
}

FAULTMUX_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to,
                               socklen_t tolen) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::sendto)) {
    return ff::passed(st, call::sendto, fd, ff::real_sendto()(fd, buf, len, flags, to, tolen));
  }
  iovec one{const_cast<void*>(buf), len};
  return ff::tx_run(ff::tx_call{call::sendto, fd, flags, &one, 1, to, tolen});
}

FAULTMUX_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::sendmsg) || msg == nullptr) {
    return ff::passed(st, call::sendmsg, fd, ff::real_sendmsg()(fd, msg, flags));
  }
  return ff::tx_run(ff::tx_call{call::sendmsg, fd, flags, msg->msg_iov,
                                static_cast<int>(msg->msg_iovlen), nullptr, 0, msg});
}

FAULTMUX_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::write)) {
    return ff::passed(st, call::write, fd, ff::real_write()(fd, buf, len));
  }
  iovec one{const_cast<void*>(buf), len};
  return ff::tx_run(ff::tx_call{call::write, fd, 0, &one, 1});
}

FAULTMUX_EXPORT ssize_t writev(int fd, const iovec* iov, int iovcnt) {
  std::uint32_t st = ff::g_active.load(std::memory_order_relaxed);
  if (!ff::active(st, call::writev) || iovcnt < 0) {
    return ff::passed(st, call::writev, fd, ff::real_writev()(fd, iov, iovcnt));
  }
  return ff::tx_run(ff::tx_call{call::writev, fd, 0, iov, iovcnt});
}

// Fortified builds (_FORTIFY_SOURCE) call these for buffers of known size;
// they are the same calls once the size check passes. glibc's own names, so
// reserved identifiers on purpose.
// NOLINTBEGIN(bugprone-reserved-identifier)
FAULTMUX_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
  if (len > buflen) return ff::real_read_chk()(fd, buf, len, buflen);
  return read(fd, buf, len);
}

FAULTMUX_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) return ff::real_recv_chk()(fd, buf, len, buflen, flags);
  return recv(fd, buf, len, flags);
}

FAULTMUX_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                                       sockaddr* from, socklen_t* fromlen) {
  if (len > buflen) return ff::real_recvfrom_chk()(fd, buf, len, buflen, flags, from, fromlen);
  return recvfrom(fd, buf, len, flags, from, fromlen);
}
// NOLINTEND(bugprone-reserved-identifier)

// close and the dup family keep the fd class table in step with the fds.
FAULTMUX_EXPORT int close(int fd) {
  if (ff::g_active.load(std::memory_order_relaxed) & ff::tracking_bit) {
    // The log fd is the shim's, not the program's: to the program it was
    // never open (closing every fd in a loop must not silence the log).
    if (fd >= 0 && fd == ff::g_log_fd.load(std::memory_order_relaxed)) {
      errno = EBADF;
      return -1;
    }
    if (ff::own_memory()) ff::forget(fd);
  }
  return ff::real_close()(fd);
}

FAULTMUX_EXPORT int dup(int fd) {
  int r = ff::real_dup()(fd);
  ff::note_dup(fd, r);
  return r;
}

FAULTMUX_EXPORT int dup2(int from, int to) {
  int r = ff::real_dup2()(from, to);
  ff::note_dup(from, r);
  return r;
}

FAULTMUX_EXPORT int dup3(int from, int to, int flags) {
  int r = ff::real_dup3()(from, to, flags);
  ff::note_dup(from, r);
  return r;
}

// fcntl's third argument is an int, a long or a pointer depending on cmd;
// passing it on as a pointer-sized value is what the C ABI allows.
FAULTMUX_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return ff::fcntl_keeping_class(ff::real_fcntl(), fd, cmd, arg);
}

FAULTMUX_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return ff::fcntl_keeping_class(ff::real_fcntl64(), fd, cmd, arg);
}

}  // extern "C"
