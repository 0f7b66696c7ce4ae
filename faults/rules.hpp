// Fault rules for the syscall shim: what a rule addresses (call, fd class,
// occurrence, process role or name, peer, phase) and what it does. Pure C++, no libc
// interposition, so the parser is unit-tested on its own; the syntax is
// documented in docs/faults.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultmux::faults {

// Every call the shim interposes and can fault, in a fixed order (bit i of
// a call_mask is call i).
enum class call : std::uint8_t {
  accept,
  accept4,
  connect,
  recv,
  recvfrom,
  recvmsg,
  read,
  readv,
  send,
  sendto,
  sendmsg,
  write,
  writev,
  // Process calls: they act on no fd, so no class, peer or phase selects them.
  socketpair,
  fork,
  execve,
  kill,
};
inline constexpr int call_count = 17;
using call_mask = std::uint32_t;

constexpr call_mask bit(call c) {
  return call_mask{1} << static_cast<int>(c);
}
inline constexpr call_mask accept_like = bit(call::accept) | bit(call::accept4);
inline constexpr call_mask recv_like =
    bit(call::recv) | bit(call::recvfrom) | bit(call::recvmsg) | bit(call::read) | bit(call::readv);
inline constexpr call_mask send_like =
    bit(call::send) | bit(call::sendto) | bit(call::sendmsg) | bit(call::write) | bit(call::writev);
inline constexpr call_mask process_calls =
    bit(call::socketpair) | bit(call::fork) | bit(call::execve) | bit(call::kill);

const char* call_name(call c);

// What an fd is, judged by what this process did with it, not its number.
enum class fd_class : std::uint8_t {
  any,         // in a rule: no restriction
  listener,    // a listening socket (SO_ACCEPTCONN)
  accepted,    // returned by accept/accept4 in this process
  connecting,  // this process called connect on it
  other,       // anything else: pipes, files, other sockets
  channel,     // an AF_UNIX stream socket unnamed at both ends: a socketpair end
};

const char* fd_class_name(fd_class c);

// Where a call stands in its connection, as the shim sees it (docs/faults.md
// "Connection phases"). `none` is logged as "-": the fd is no tracked socket.
enum class conn_phase : std::uint8_t {
  any,        // in a rule: no restriction
  accept,     // accept/accept4 on a listener
  connect,    // connect
  handshake,  // data calls before the connection's first answered exchange
  stream,     // data calls after it
  none,       // data calls on other fds
};

const char* conn_phase_name(conn_phase p);

enum class occurrence : std::uint8_t {
  every_call,   // no selector: each addressed call
  range,        // #first or #first..last (last may be open)
  every_kth,    // every k: calls k, 2k, 3k, ...
  probability,  // p=P, decided per call from the seed
};

enum class effect : std::uint8_t {
  fail,      // return -1 with an errno, the real call is not made
  shorten,   // transfer at most `amount` bytes
  bytewise,  // recv-like: 1 byte; send-like: each byte its own real call
  delay,     // sleep `amount` microseconds, then make the real call
  flip,      // invert the byte at offset `amount` of the transfer
  trace,     // change nothing, only count and log the call
  eof,       // recv-like: return 0 (end of file), the real call is not made
};

inline constexpr std::uint64_t open_end = UINT64_MAX;
inline constexpr std::uint64_t max_flip_offset = 4095;
inline constexpr std::uint64_t max_delay_us = 60'000'000;
// per-fd rules keep a counter per fd each; the shim has room for this many.
inline constexpr std::size_t max_per_fd_rules = 8;
// The longest FAULTMUX_PEER name the shim keeps (and a peer= selector takes).
inline constexpr std::size_t max_peer_name = 47;

struct rule {
  std::string text;  // the rule as written, trimmed
  call_mask calls = 0;
  fd_class cls = fd_class::any;
  occurrence occ = occurrence::every_call;
  std::uint64_t first = 1;  // range
  std::uint64_t last = open_end;
  std::uint64_t every = 1;   // every_kth
  double p = 1.0;            // probability
  std::string role;          // empty: any role
  std::int64_t index = -1;   // -1: any index
  bool per_fd = false;       // count each tracked socket's calls separately
  std::string peer;          // empty: any peer; else a name, "listener", "-" or "?"
  bool peer_prefix = false;  // peer=GROUP:* : `peer` is a prefix
  std::string self;          // empty: any process; else this process's own FAULTMUX_PEER
  bool self_prefix = false;  // self=GROUP:* : `self` is a prefix
  conn_phase phase = conn_phase::any;
  effect eff = effect::fail;
  int err = 0;               // fail
  std::uint64_t amount = 0;  // shorten: bytes, delay: microseconds, flip: offset
};

struct parse_error {
  std::string origin;           // "FAULTMUX_FAULTS" or "<file> line N"
  std::size_t rule_number = 0;  // 1-based over every rule read so far
  std::string rule_text;
  std::size_t column = 0;  // 1-based within rule_text
  std::string message;     // what was expected (and what was found)
};

// A multi-line message for stderr: origin, rule number, column, message,
// then the rule with a caret under the column.
std::string describe(const parse_error& e);

// One rule; the error's origin and rule_number are left for the caller.
std::optional<parse_error> parse_rule(std::string_view text, rule& out);

// Rules separated by ';' or newlines. Blank rules are skipped; a '#' where
// a rule would start begins a comment that runs to the end of the line. Appends to `out`; rule
// numbers continue from out.size(). `origin` names the source in errors; for a file, line numbers
// are added.
std::optional<parse_error> parse_rules(std::string_view text, std::string_view origin, bool is_file,
                                       std::vector<rule>& out);

// The FAULTMUX_PEER of the harness's listener probe: a rule without peer=
// leaves its connections alone; peer=probe addresses them.
inline constexpr std::string_view probe_peer = "probe";

// Whether a connection's peer name passes the rule's peer= selector (without
// one: any peer but the probe).
bool peer_matches(const rule& r, std::string_view peer);

// Whether a process named `self` (its own FAULTMUX_PEER, "" when it has
// none) passes the rule's self= selector (true without one).
bool self_matches(const rule& r, std::string_view self);

// The effect as written canonically: "EAGAIN", "short 3", "delay 50ms".
std::string effect_text(const rule& r);

// errno value <-> name for the errnos a rule may inject (0 / nullptr if not one).
int errno_from_name(std::string_view name);
const char* errno_name(int err);

}  // namespace faultmux::faults
