// Samples one process's open fds (/proc/PID/fd), RSS (/proc/PID/statm),
// threads (/proc/PID/stat) and the accept queue of the socket it listens on,
// on a thread of its own while a scenario runs, so the driver's loop (and
// the timing of its faults) never waits for it. Times are CLOCK_MONOTONIC
// seconds, the clock of every event in a timeline.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace faultmux {

struct resource_point {
  double t = 0;  // CLOCK_MONOTONIC seconds
  long long fds = 0;
  long long rss_kib = 0;
  long long threads = 0;
  long long accept_queue = -1;    // connections waiting to be accepted; -1: unknown
  long long listen_backlog = -1;  // the accept queue's limit; -1: unknown
};

// The accept queue of the AF_UNIX socket listening at `path` (found by the
// file's inode, whatever name it was bound with): its length
// (Recv-Q) and its limit (Send-Q, the backlog); nullopt when none listens there.
struct listen_queue {
  long long queued = 0;
  long long limit = 0;
};
std::optional<listen_queue> listen_queue_of(const std::string& path);

// One reading of `pid`; nullopt when it is gone (or /proc cannot be read).
std::optional<resource_point> sample_process(pid_t pid);

class resource_sampler {
 public:
  // At most `max_samples` are kept: when one more would not fit, every
  // second one is dropped and the interval doubles, so a long run is
  // covered end to end at a lower rate.
  explicit resource_sampler(int interval_ms = 50, std::size_t max_samples = 600)
      : interval_ms_(interval_ms), max_(max_samples) {}
  ~resource_sampler() { stop(); }
  resource_sampler(const resource_sampler&) = delete;
  resource_sampler& operator=(const resource_sampler&) = delete;

  // Starts sampling `pid` now (one sample at once, then every interval),
  // and the accept queue of `listen_path` when it is not empty.
  void start(pid_t pid, const std::string& listen_path = "");
  // Stops and joins; the samples stay. Safe to call twice.
  void stop();

  pid_t pid() const { return pid_; }
  int interval_ms() const;
  std::vector<resource_point> samples() const;

 private:
  void loop();
  void add(const resource_point& p);

  int interval_ms_;
  std::size_t max_;
  pid_t pid_ = -1;
  std::string listen_path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<resource_point> samples_;
  std::thread thread_;
};

}  // namespace faultmux
