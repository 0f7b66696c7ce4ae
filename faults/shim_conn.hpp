// The shim's view of each socket connection: who is at the other end (the
// FAULTMUX_PEER of that process), which phase the connection is in, and how
// many counted calls of each name it has seen in that phase. Kept per fd
// number and keyed by the socket's inode, so a number reused by another
// connection starts afresh. Lock-free, allocation-free and made of raw
// system calls only: the shim's wrappers call it from any context.
#pragma once

#include <cstdint>

#include "faults/rules.hpp"

namespace faultmux::faults::conn {

// A peer as logged and matched: a FAULTMUX_PEER name, "context:NAME" or a
// role ("mux") at the other end of a channel, "listener" (the other end of
// a connecting fd), "-" (a listener has no peer) or "?".
struct peer_info {
  char name[max_peer_name + 1] = {};
  int pid = 0;  // 0: not known
};

// The phase of a data call on the tracked socket (fd, ino): handshake until
// mark_stream, stream after.
conn_phase data_phase(int fd, std::uint64_t ino);

// Whether mark_stream(fd, ino) would change anything (a cheap check first,
// so a wrapper does its own further checks only once per connection).
bool in_handshake(int fd, std::uint64_t ino);

// The connection's first answered exchange is done: its data calls are in
// the stream phase from now on.
void mark_stream(int fd, std::uint64_t ino);

// The peer of fd, whose class is `cls` and socket inode `ino` (0: not a
// socket). Accepted and other sockets are looked up once per connection
// (SO_PEERCRED, then /proc/PID/environ) and remembered; a channel's other
// end is found by shim_proc (channel_peer) and remembered once named.
void peer_of(int fd, std::uint64_t ino, fd_class cls, peer_info& out);

// fd (socket `ino`) is one end of a socketpair made here, `peer_ino` the
// other: its peer is whichever process holds that one.
void note_pair(int fd, std::uint64_t ino, std::uint64_t peer_ino);

// Counts one call named `c` in phase `p` on the socket (fd, ino) and
// returns its number among them, from 1 (0 when fd is not in the table).
std::uint64_t count_call(int fd, std::uint64_t ino, call c, conn_phase p);

// A dup shares the connection: `to` takes what is known of `from`.
void copy(int from, int to);
void forget(int fd);

// A fork child counts afresh (as the shim's rule counters do); phases and
// peers carry over, the sockets being the same.
void on_fork_child();

}  // namespace faultmux::faults::conn
