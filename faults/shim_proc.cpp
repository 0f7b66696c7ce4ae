#include "faults/shim_proc.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "faults/decide.hpp"

namespace faultmux::faults::proc {
namespace {

constinit std::atomic<std::uint64_t> g_own_cmdline{0};  // its hash; 0: not read
char g_own_role[64] = {};                               // written once, before any rule is active

int sys_open(const char* path, int flags) {
  return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC));
}

long sys_read(int fd, char* buf, std::size_t n) {
  long r;
  while ((r = syscall(SYS_read, fd, buf, n)) < 0 && errno == EINTR) {
  }
  return r;
}

void sys_close(int fd) {
  syscall(SYS_close, fd);
}

// Appends the decimal digits of v at out[at], returns the new end.
std::size_t put_number(char* out, std::size_t at, std::uint64_t v) {
  char digits[24];
  int n = 0;
  do digits[n++] = char('0' + v % 10);
  while ((v /= 10) != 0);
  while (n > 0) out[at++] = digits[--n];
  return at;
}

// "/proc/PID/TAIL" (PID 0: "self") into out, which holds 64 bytes.
void proc_path(char* out, int pid, const char* tail) {
  std::memcpy(out, "/proc/", 6);
  std::size_t at = 6;
  if (pid == 0) {
    std::memcpy(out + at, "self", 4);
    at += 4;
  } else {
    at = put_number(out, at, static_cast<std::uint64_t>(pid));
  }
  out[at++] = '/';
  std::size_t n = std::strlen(tail);
  std::memcpy(out + at, tail, n + 1);
}

// What a command line says about its process.
struct cmdline {
  bool read = false;     // the file could be read
  bool context = false;  // argv[1] is "context" and --name NAME fitted
  char name[max_peer_name + 1] = {};
  std::uint64_t hash = name_hash("");
};

// Scans /proc/PID/cmdline (0: self) a byte at a time across reads: the
// arguments are NUL-terminated strings.
cmdline read_cmdline(int pid) {
  cmdline c;
  char path[64];
  proc_path(path, pid, "cmdline");
  int fd = sys_open(path, O_RDONLY);
  if (fd < 0) return c;
  constexpr std::size_t arg_max = 48;
  char arg[arg_max];
  std::size_t len = 0, index = 0;
  bool long_arg = false, name_next = false, subcommand = false, named = false;
  auto end_arg = [&] {
    std::string_view a(arg, long_arg ? 0 : len);
    if (index == 1) subcommand = !long_arg && a == "context";
    constexpr std::size_t room = max_peer_name - 8;  // after "context:"
    if (name_next && !long_arg && len > 0 && len <= room) {
      std::memcpy(c.name, "context:", 8);
      std::memcpy(c.name + 8, arg, len);
      c.name[8 + len] = '\0';
      named = true;
    }
    name_next = !long_arg && a == "--name";
    ++index;
    len = 0;
    long_arg = false;
  };
  char buf[512];
  long n;
  while ((n = sys_read(fd, buf, sizeof buf)) > 0) {
    c.read = true;
    for (long i = 0; i < n; ++i) {
      c.hash = (c.hash ^ static_cast<unsigned char>(buf[i])) * 0x100000001b3ull;
      if (buf[i] == '\0') {
        end_arg();
      } else if (len < arg_max) {
        arg[len++] = buf[i];
      } else {
        long_arg = true;
      }
    }
  }
  if (len > 0 || long_arg) end_arg();
  sys_close(fd);
  c.context = subcommand && named;
  return c;
}

// The directory entries of an open directory, one callback per name; the
// callback returns true to stop.
template <class Fn>
bool each_entry(int dir, Fn&& fn) {
  alignas(8) char buf[1024];
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long at = 0; at < n;) {
      auto reclen = *reinterpret_cast<unsigned short*>(buf + at + 16);
      const char* name = buf + at + 19;
      if (name[0] != '.' && fn(name)) return true;
      at += reclen;
    }
  }
  return false;
}

// Whether process pid (0: self) has an fd on the socket "socket:[INO]".
bool holds(int pid, const char* target, std::size_t target_len) {
  char path[64];
  proc_path(path, pid, "fd");
  int dir = sys_open(path, O_RDONLY | O_DIRECTORY);
  if (dir < 0) return false;
  bool found = each_entry(dir, [&](const char* name) {
    char link[64];
    long n = syscall(SYS_readlinkat, dir, name, link, sizeof link);
    return n == static_cast<long>(target_len) && std::memcmp(link, target, target_len) == 0;
  });
  sys_close(dir);
  return found;
}

// The child of this process (of any of its threads) that holds the socket,
// or 0.
int child_holding(const char* target, std::size_t target_len) {
  int tasks = sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY);
  if (tasks < 0) return 0;
  int found = 0;
  each_entry(tasks, [&](const char* tid) {
    char path[64] = "/proc/self/task/";
    std::size_t at = 16, n = std::strlen(tid);
    if (at + n + 10 > sizeof path) return false;
    std::memcpy(path + at, tid, n);
    std::memcpy(path + at + n, "/children", 10);
    int fd = sys_open(path, O_RDONLY);
    if (fd < 0) return false;
    // Space-separated pids, parsed across reads.
    char buf[256];
    long got;
    std::uint64_t pid = 0;
    auto check = [&] {
      if (pid > 0 && holds(static_cast<int>(pid), target, target_len))
        found = static_cast<int>(pid);
      pid = 0;
      return found != 0;
    };
    while (found == 0 && (got = sys_read(fd, buf, sizeof buf)) > 0)
      for (long i = 0; i < got && found == 0; ++i) {
        if (buf[i] >= '0' && buf[i] <= '9')
          pid = pid * 10 + static_cast<std::uint64_t>(buf[i] - '0');
        else
          check();
      }
    if (found == 0) check();
    sys_close(fd);
    return found != 0;
  });
  sys_close(tasks);
  return found;
}

void set_unknown(conn::peer_info& out) {
  std::memcpy(out.name, "?", 2);
}

// A process by its command line ("context:NAME"), else by its
// FAULTMUX_PEER, else by its FAULTMUX_ROLE ("mux") unless that is this
// process's own (inherited by a child: it says nothing); "?" without any.
// False while it is a fork of this process that has not exec'd yet, or
// when it is gone.
bool name_process(int pid, conn::peer_info& out) {
  cmdline c = read_cmdline(pid);
  if (!c.read) return false;
  if (c.context) {
    std::memcpy(out.name, c.name, sizeof out.name);
    return true;
  }
  if (c.hash == g_own_cmdline.load(std::memory_order_relaxed)) return false;
  if (environ_value(pid, "FAULTMUX_PEER=", out.name, sizeof out.name)) return true;
  if (!environ_value(pid, "FAULTMUX_ROLE=", out.name, sizeof out.name) ||
      std::strcmp(out.name, g_own_role) == 0)
    set_unknown(out);
  return true;
}

}  // namespace

bool is_channel_socket(int fd) {
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;
  if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX)
    return false;
  len = sizeof type;
  if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
    return false;
  sockaddr_un a{};
  len = sizeof a;
  if (syscall(SYS_getsockname, fd, &a, &len) != 0 || len > sizeof(sa_family_t)) return false;
  len = sizeof a;
  return syscall(SYS_getpeername, fd, &a, &len) == 0 && len <= sizeof(sa_family_t);
}

void remember_self(const char* role) {
  std::size_t n = std::strlen(role);
  if (n < sizeof g_own_role) std::memcpy(g_own_role, role, n + 1);
  g_own_cmdline.store(read_cmdline(0).hash, std::memory_order_relaxed);
}

bool own_context_name(char* out, std::size_t cap) {
  cmdline c = read_cmdline(0);
  std::size_t n = std::strlen(c.name);
  if (!c.context || n >= cap) return false;
  std::memcpy(out, c.name, n + 1);
  return true;
}

bool environ_value(int pid, const char* key, char* out, std::size_t cap) {
  char path[64];
  proc_path(path, pid, "environ");
  int fd = sys_open(path, O_RDONLY);
  if (fd < 0) return false;
  const int key_len = static_cast<int>(std::strlen(key));
  int matched = 0;  // bytes of `key` matched at the start of this entry; -1: not this entry
  std::size_t len = 0;
  bool found = false, done = false, too_long = false;
  char buf[1024];
  long n;
  while (!done && (n = sys_read(fd, buf, sizeof buf)) > 0) {
    for (long i = 0; i < n && !done; ++i) {
      char c = buf[i];
      if (matched == key_len) {
        if (c == '\0') {
          done = true;
        } else if (len + 1 < cap) {
          out[len++] = c;
        } else {
          too_long = done = true;
        }
      } else if (c == '\0') {
        matched = 0;
      } else if (matched >= 0) {
        matched = c == key[matched] ? matched + 1 : -1;
        found = found || matched == key_len;
      }
    }
  }
  sys_close(fd);
  if (!found || len == 0 || too_long) return false;
  out[len] = '\0';
  return true;
}

bool channel_peer(int fd, std::uint64_t peer_ino, conn::peer_info& out) {
  out.pid = 0;
  set_unknown(out);
  const int self = static_cast<int>(syscall(SYS_getpid));
  if (peer_ino == 0) {
    // Inherited: SO_PEERCRED names the process that made the pair, which
    // kept the other end. A pair this process made before an exec has
    // nobody else at the other end.
    ucred cred{};
    socklen_t len = sizeof cred;
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0 ||
        cred.pid == self)
      return true;
    out.pid = cred.pid;
    if (name_process(cred.pid, out)) return true;
    set_unknown(out);
    return false;
  }
  char target[40] = "socket:[";
  std::size_t tl = put_number(target, 8, peer_ino);
  target[tl++] = ']';
  target[tl] = '\0';
  if (int pid = child_holding(target, tl); pid > 0) {
    out.pid = pid;
    if (name_process(pid, out)) return true;
    set_unknown(out);
    return false;
  }
  // Both ends here (a pair used within this process): no other process.
  return holds(0, target, tl);
}

}  // namespace faultmux::faults::proc
