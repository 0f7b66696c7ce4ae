// What the shim reads of /proc to name processes: a process's FAULTMUX_PEER
// and FAULTMUX_ROLE, whether it is a faultmux context (`... context ...
// --name NAME` on its command line: it is then "context:NAME"), and which
// of this process's children holds a given socket. The other end of a
// channel (a socketpair end, docs/faults.md "Fd classes") is named this
// way. Allocation-free, lock-free and made of raw system calls only, as
// shim_conn.
#pragma once

#include <cstddef>
#include <cstdint>

#include "faults/shim_conn.hpp"

namespace faultmux::faults::proc {

// Whether fd is an AF_UNIX stream socket with no address at either end:
// what socketpair makes (a listener, an accepted or a connecting socket
// always has a named end).
bool is_channel_socket(int fd);

// Reads this process's command line once (the shim's constructor): a
// child forked from it shows the same one until it execs. `role` is its
// FAULTMUX_ROLE: a child that has the same one inherited it, and is not
// named by it.
void remember_self(const char* role);

// When this process is a faultmux context, its name as a peer
// ("context:NAME") into out (cap bytes, NUL included).
bool own_context_name(char* out, std::size_t cap);

// The value of variable `key` ("FAULTMUX_PEER=") in /proc/PID/environ
// into out; false when it is absent, empty or does not fit.
bool environ_value(int pid, const char* key, char* out, std::size_t cap);

// Names the process at the other end of the channel fd into out. `peer_ino`
// is the inode of the other end when this process made the pair (0: the
// channel was inherited, and its other end is with the process that made
// it, SO_PEERCRED). False while that process cannot be named yet (a child
// forked but not yet exec'd, or no process holds the other end): ask again
// on a later call.
bool channel_peer(int fd, std::uint64_t peer_ino, conn::peer_info& out);

}  // namespace faultmux::faults::proc
