// The child contexts of one context: starting them (Boost.Process over a
// socketpair), waiting for their hello, re-emitting their forwarded logs,
// and ending everything that depended on them when they go. The same in
// every context that has children, the mux included.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mux/child.hpp"
#include "mux/node.hpp"

namespace faultmux {

struct children_config {
  std::string program;  // the faultmux binary, re-executed as `faultmux context`
  int verbosity = 0;    // passed on, so -vv reaches grandchildren
  std::string events;   // events file passed on ("" = none)
  std::chrono::milliseconds hello_timeout{10000};
  std::size_t line_limit = 64 * 1024;
  // Optional: more command-line arguments for the child named `name`
  // (appended after the standard ones).
  std::function<std::vector<std::string>(const std::string& name)> extra_args;
  // A child whose stream closed but which runs on gets SIGTERM after
  // term_after, then SIGKILL kill_after later.
  std::chrono::milliseconds term_after{500};
  std::chrono::milliseconds kill_after{2000};
};

struct context_info {
  std::uint32_t id = 0;
  std::string name;
  pid_t pid = -1;
};

class children {
 public:
  // Result of a start: the context, or an error for people (with the
  // child's last output when it had any).
  using started_fn = std::function<void(std::optional<context_info>, const std::string& error)>;
  // Hands out a fresh context id (asynchronously: a non-root context may
  // have to ask the root).
  using allocate_fn = std::function<void(std::function<void(std::optional<std::uint32_t>)>)>;

  children(node& n, children_config cfg, allocate_fn allocate);
  // Kills what still runs and closes its streams while this registry can
  // still hear of it; an owner shuts down (shutdown()) first to reap them.
  ~children();

  // Broker thread. Starts `faultmux context` named `name` as our child.
  void start(const std::string& name, started_fn done);
  // Asks every child to shut down (SHUTDOWN), then kills what is left after
  // `grace`. done runs when all have exited.
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);
  // Cuts a shutdown's grace period short (a second signal): every child not
  // yet exited is killed now. done still runs once all have been reaped.
  void hurry_shutdown();

  std::optional<context_info> find(std::uint32_t id) const;
  std::size_t count() const { return by_id_.size(); }
  void signal(std::uint32_t id, int sig);

  // Called when a child context's stream is gone (it exited or was killed).
  std::function<void(const context_info&)> on_gone;

 private:
  struct entry {
    context_info info;
    std::shared_ptr<child> proc;
    std::shared_ptr<stream> strm;
    timer_handle hello_timer;
    timer_handle end_timer;  // the child runs on after its stream closed
    started_fn done;         // set until the hello
    bool exited = false;
    bool killed = false;  // sent SIGKILL at the shutdown: once, and said once
    bool stream_closed = false;
    int status = 0;
  };

  void launch(const std::string& name, std::uint32_t id, started_fn done);
  void fail_start(std::uint32_t id, const std::string& why);
  // fail_start once the child's output is read to its end, or at `until`.
  void fail_when_output_read(std::uint32_t id, const std::string& why,
                             std::chrono::steady_clock::time_point until);
  void on_forward_log(message& m);
  void maybe_forget(std::uint32_t id);
  void end_orphan(std::uint32_t id, int sig);

  node& node_;
  children_config cfg_;
  allocate_fn allocate_;
  std::map<std::uint32_t, std::shared_ptr<entry>> by_id_;
  std::function<void()> shutdown_done_;
};

}  // namespace faultmux
