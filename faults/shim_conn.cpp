#include "faults/shim_conn.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "faults/decide.hpp"
#include "faults/shim_proc.hpp"

namespace faultmux::faults::conn {
namespace {

constexpr int table_size = 1 << 16;  // as the shim's fd class table
constexpr int name_words = (max_peer_name + 1) / 8;
static_assert(name_words * 8 == max_peer_name + 1);

// key: (inode << 2) | resolved | stream. The name and pid are written before
// `resolved` is set, and read back only while the key still holds the same
// inode, so a reader never takes one connection's peer for another's.
constexpr std::uint64_t stream_bit = 1;
constexpr std::uint64_t resolved_bit = 2;

// Call counters: (tag << 24) | n, the tag a hash of (inode, phase, fork
// generation), so a new connection, a new phase and a fork child each start
// at 1 without clearing anything.
constexpr std::uint64_t count_bits = 24;
constexpr std::uint64_t count_max = (std::uint64_t{1} << count_bits) - 1;

struct slot {
  std::atomic<std::uint64_t> key{0};
  std::atomic<int> pid{0};
  std::atomic<std::uint64_t> name[name_words] = {};
  std::atomic<std::uint64_t> counts[call_count] = {};
  // A socketpair made here: `pair` is the other end's inode while
  // `pair_of` holds this slot's.
  std::atomic<std::uint64_t> pair_of{0};
  std::atomic<std::uint64_t> pair{0};
};

// Untouched pages cost no memory: only the fds a program uses are written.
constinit slot g_slots[table_size] = {};
constinit std::atomic<std::uint64_t> g_generation{0};

bool in_table(int fd) {
  return fd >= 0 && fd < table_size;
}

// The slot's key for `ino`, taking the slot over when it held another
// connection.
std::uint64_t own(slot& s, std::uint64_t ino) {
  std::uint64_t k = s.key.load(std::memory_order_acquire);
  while ((k >> 2) != ino) {
    if (s.key.compare_exchange_weak(k, ino << 2, std::memory_order_acq_rel)) return ino << 2;
  }
  return k;
}

void set_name(peer_info& out, const char* name) {
  std::size_t n = std::strlen(name);
  std::memcpy(out.name, name, n + 1);
}

// The process at the other end of a socket, by SO_PEERCRED.
int peer_pid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return 0;
  return cred.pid > 0 ? cred.pid : 0;
}

void look_up(int fd, peer_info& out) {
  out.pid = peer_pid(fd);
  // A socketpair made in this process reports this process as its peer:
  // that says nothing about the other end.
  if (out.pid == static_cast<int>(syscall(SYS_getpid))) out.pid = 0;
  if (out.pid == 0 || !proc::environ_value(out.pid, "FAULTMUX_PEER=", out.name, sizeof out.name))
    set_name(out, "?");
}

void store(slot& s, std::uint64_t ino, const peer_info& p) {
  s.pid.store(p.pid, std::memory_order_relaxed);
  for (int w = 0; w < name_words; ++w) {
    std::uint64_t v = 0;
    std::memcpy(&v, p.name + w * 8, 8);
    s.name[w].store(v, std::memory_order_relaxed);
  }
  std::uint64_t k = s.key.load(std::memory_order_relaxed);
  while ((k >> 2) == ino && !(k & resolved_bit)) {
    if (s.key.compare_exchange_weak(k, k | resolved_bit, std::memory_order_release)) return;
  }
}

bool load(slot& s, std::uint64_t ino, peer_info& out) {
  std::uint64_t k = s.key.load(std::memory_order_acquire);
  if ((k >> 2) != ino || !(k & resolved_bit)) return false;
  out.pid = s.pid.load(std::memory_order_relaxed);
  for (int w = 0; w < name_words; ++w) {
    std::uint64_t v = s.name[w].load(std::memory_order_relaxed);
    std::memcpy(out.name + w * 8, &v, 8);
  }
  out.name[max_peer_name] = '\0';
  std::atomic_thread_fence(std::memory_order_acquire);
  return (s.key.load(std::memory_order_relaxed) >> 2) == ino;
}

}  // namespace

conn_phase data_phase(int fd, std::uint64_t ino) {
  if (!in_table(fd) || ino == 0) return conn_phase::none;
  std::uint64_t k = g_slots[fd].key.load(std::memory_order_acquire);
  return (k >> 2) == ino && (k & stream_bit) ? conn_phase::stream : conn_phase::handshake;
}

bool in_handshake(int fd, std::uint64_t ino) {
  return data_phase(fd, ino) == conn_phase::handshake;
}

void mark_stream(int fd, std::uint64_t ino) {
  if (!in_table(fd) || ino == 0) return;
  slot& s = g_slots[fd];
  std::uint64_t k = own(s, ino);
  while ((k >> 2) == ino && !(k & stream_bit)) {
    if (s.key.compare_exchange_weak(k, k | stream_bit, std::memory_order_acq_rel)) return;
  }
}

void peer_of(int fd, std::uint64_t ino, fd_class cls, peer_info& out) {
  out = peer_info{};
  if (cls == fd_class::listener) return set_name(out, "-");
  if (cls == fd_class::connecting) {
    // Not remembered: before connect completes there is no peer yet.
    set_name(out, "listener");
    out.pid = peer_pid(fd);
    return;
  }
  if (ino == 0) return set_name(out, "?");
  if (!in_table(fd)) {
    if (cls == fd_class::channel) return void(proc::channel_peer(fd, 0, out));
    return look_up(fd, out);
  }
  slot& s = g_slots[fd];
  own(s, ino);
  if (load(s, ino, out)) return;
  out = peer_info{};
  if (cls != fd_class::channel) {
    look_up(fd, out);
  } else {
    std::uint64_t peer_ino = 0;
    if (s.pair_of.load(std::memory_order_acquire) == ino) {
      peer_ino = s.pair.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (s.pair_of.load(std::memory_order_relaxed) != ino) peer_ino = 0;
    }
    // Not remembered while the other end's process cannot be named yet
    // (forked but not exec'd): a later call asks again.
    if (!proc::channel_peer(fd, peer_ino, out)) return;
  }
  store(s, ino, out);
}

void note_pair(int fd, std::uint64_t ino, std::uint64_t peer_ino) {
  if (!in_table(fd) || ino == 0) return;
  slot& s = g_slots[fd];
  own(s, ino);
  s.pair_of.store(0, std::memory_order_relaxed);
  s.pair.store(peer_ino, std::memory_order_relaxed);
  s.pair_of.store(ino, std::memory_order_release);
}

std::uint64_t count_call(int fd, std::uint64_t ino, call c, conn_phase p) {
  if (!in_table(fd) || ino == 0) return 0;
  std::uint64_t gen = g_generation.load(std::memory_order_relaxed);
  std::uint64_t tag =
      splitmix64(splitmix64(ino) ^ (static_cast<std::uint64_t>(p) << 56) ^ gen) >> count_bits;
  std::atomic<std::uint64_t>& e = g_slots[fd].counts[static_cast<int>(c)];
  std::uint64_t old = e.load(std::memory_order_relaxed), next;
  do {
    std::uint64_t n = (old >> count_bits) == tag ? (old & count_max) : 0;
    if (n < count_max) ++n;
    next = (tag << count_bits) | n;
  } while (!e.compare_exchange_weak(old, next, std::memory_order_relaxed));
  return next & count_max;
}

void copy(int from, int to) {
  if (!in_table(to)) return;
  slot& d = g_slots[to];
  if (!in_table(from)) {
    d.key.store(0, std::memory_order_relaxed);
    return;
  }
  slot& s = g_slots[from];
  d.key.store(0, std::memory_order_relaxed);
  d.pid.store(s.pid.load(std::memory_order_relaxed), std::memory_order_relaxed);
  for (int w = 0; w < name_words; ++w)
    d.name[w].store(s.name[w].load(std::memory_order_relaxed), std::memory_order_relaxed);
  for (int i = 0; i < call_count; ++i)
    d.counts[i].store(s.counts[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
  d.pair.store(s.pair.load(std::memory_order_relaxed), std::memory_order_relaxed);
  d.pair_of.store(s.pair_of.load(std::memory_order_relaxed), std::memory_order_relaxed);
  d.key.store(s.key.load(std::memory_order_relaxed), std::memory_order_release);
}

void forget(int fd) {
  if (in_table(fd) && g_slots[fd].key.load(std::memory_order_relaxed) != 0)
    g_slots[fd].key.store(0, std::memory_order_relaxed);
}

void on_fork_child() {
  g_generation.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace faultmux::faults::conn
