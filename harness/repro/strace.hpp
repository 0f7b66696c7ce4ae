// An `strace -f` log of the mux, read for what went wrong: the calls on its
// sockets that failed (or ended a connection early), each with its fd's class
// and the connection's phase from the calls before it, the lines it wrote to
// stderr, whether its listener was closed before it was asked to stop, and
// whether it died of a signal.
#pragma once

#include <string>
#include <vector>

namespace faultmux::repro {

// Whether a line is one strace writes ("[pid 12] 06:00:01.5 recvfrom(7, ...) = 2",
// "<... recvfrom resumed>...", "+++ exited with 0 +++").
bool is_strace_line(const std::string& line);

// A call of the mux that failed, or that read EOF or part of the client's
// pid before the connection was closed.
struct failed_call {
  std::string call;      // as traced: "recvfrom", "accept4", "sendto"
  std::string err;       // "EAGAIN"; "EOF" (read 0), "short" (read part of the pid)
  std::string fd_class;  // "listener", "accepted", "connecting", "other"
  // On an accepted connection: "pid read", "identity send" or "routing";
  // "accept" for the listener.
  std::string phase;
  bool fatal = false;  // the connection (or the listener) was closed right after it
};

struct strace_summary {
  std::vector<failed_call> failures;
  std::vector<std::string> stderr_lines;  // what the mux wrote to fd 2
  bool listener_closed = false;           // closed before any SIGTERM/SIGINT reached it
  std::string killed_by;                  // "SIGSEGV" when a signal ended it; ""
  int exit_code = 0;                      // exit_group's status before any stop signal
  int accepted = 0;                       // connections it accepted
};

strace_summary read_strace(const std::string& text);

// "recvfrom" -> "recv", "accept4" -> "accept": the family of a call.
std::string call_family(const std::string& call);

// "pid read" -> "handshake", "routing" -> "stream": explore's phase names.
std::string point_phase(const std::string& phase);

}  // namespace faultmux::repro
