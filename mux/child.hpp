// A child process started with Boost.Process: one end of a socketpair as its
// fd 3 (its stream to us), its stdout and stderr read line by line and logged
// under its name, its exit observed and the process always reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mux/fd.hpp"

namespace faultmux {

class broker;

struct child_options {
  std::string name;                    // for log lines: "<name>: <line>"
  std::vector<std::string> argv;       // argv[0] is the program's path
  std::size_t line_limit = 64 * 1024;  // longer lines are cut, never buffered beyond this
};

class child {
 public:
  // Called once on the broker thread with the raw wait status when the
  // process has exited and been reaped.
  using exit_fn = std::function<void(int status)>;

  // Starts the child; throws std::system_error naming the program when it
  // cannot be started (missing binary, exec failure).
  static std::shared_ptr<child> start(broker& b, child_options opts, exit_fn on_exit);
  virtual ~child() = default;

  // Our end of the socketpair (once).
  virtual unique_fd take_stream_fd() = 0;
  virtual pid_t pid() const = 0;
  virtual const std::string& name() const = 0;
  virtual bool exited() const = 0;
  // The last lines the child wrote on stdout/stderr, for error messages.
  virtual std::string last_output() const = 0;
  // Both its stdout and stderr were read to their end.
  virtual bool output_read() const = 0;
  // kill(2): 0, or its errno (EPERM: we may not signal it). 0 once it exited.
  virtual int signal(int sig) = 0;
};

// Decodes bytes as latin-1 into UTF-8: total, every byte sequence decodes.
std::string latin1_to_utf8(std::string_view bytes);

// Splits a byte stream into lines of at most `limit` bytes: a longer line is
// cut at the limit (on_line gets cut=true) and the rest up to its newline is
// dropped, so memory stays bounded whatever the child writes.
class line_splitter {
 public:
  using line_fn = std::function<void(std::string_view line, bool cut)>;
  line_splitter(std::size_t limit, line_fn on_line) : limit_(limit), on_line_(std::move(on_line)) {}
  void feed(std::string_view bytes);
  void finish();  // flushes a last line without a newline
  std::size_t buffered() const { return buf_.size(); }

 private:
  std::size_t limit_;
  line_fn on_line_;
  std::string buf_;
  bool skipping_ = false;
};

}  // namespace faultmux
