// Child processes for the driver and the tests: spawned with posix_spawn,
// optionally with stdout captured, always reaped by their owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace faultmux {

class child_process {
 public:
  // Starts argv[0] (a path) with argv; with capture_stdout, read_line() reads
  // its stdout; with stderr_path, its stderr is appended to that file;
  // `env` ("NAME=value" each) is added to this process's environment.
  // Throws std::system_error naming the program on failure.
  static child_process spawn(const std::vector<std::string>& argv, bool capture_stdout = false,
                             const std::string& stderr_path = {},
                             const std::vector<std::string>& env = {});

  child_process() = default;
  child_process(child_process&& o) noexcept;
  child_process& operator=(child_process&& o) noexcept;
  ~child_process();  // kills (SIGKILL) and reaps a child still running

  pid_t pid() const { return pid_; }
  // One line of stdout without its newline; nullopt on EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Waits for exit; the wait status, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig) const;
  bool running() const { return pid_ > 0 && !status_; }
  std::optional<int> status() const { return status_; }
  // When wait() saw it exit (CLOCK_MONOTONIC seconds, the timeline's clock).
  std::optional<double> exited_at() const { return exited_at_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string out_buf_;
  std::optional<int> status_;
  std::optional<double> exited_at_;
};

// One child to start: child_process::spawn's arguments.
struct spawn_request {
  std::vector<std::string> argv;
  bool capture_stdout = false;
  std::string stderr_path;
  std::vector<std::string> env;
};

// Starts every request, up to `parallel` at once on threads of its own, and
// returns the children in request order. posix_spawn (glibc: clone with
// CLONE_VM | CLONE_VFORK, then exec) copies no page table, so what a child
// costs does not grow with this process's memory; it does block its thread
// until the child has exec'd, which two threads on two cores overlap. When
// one fails, the first failure is thrown once all have been tried (the
// children started are killed and reaped with their objects).
std::vector<child_process> spawn_all(const std::vector<spawn_request>& requests, int parallel);

// "exit 0", "killed by SIGKILL": a wait status for people.
std::string describe_status(int status);

}  // namespace faultmux
