#include "harness/resource_sampler.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "faults/event_log.hpp"

namespace faultmux {
namespace {

// num_threads, the 20th field of /proc/PID/stat (the 18th after the
// command, which is in parentheses and may hold spaces); 0 when unreadable.
long long threads_of(const std::string& dir) {
  FILE* f = std::fopen((dir + "/stat").c_str(), "re");
  if (!f) return 0;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  long long threads = 0;
  if (p && std::sscanf(p + 1,
                       " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %lld",
                       &threads) == 1)
    return threads;
  return 0;
}

}  // namespace

std::optional<resource_point> sample_process(pid_t pid) {
  resource_point p;
  p.t = faults::monotonic_seconds();
  const std::string dir = "/proc/" + std::to_string(pid);
  DIR* d = ::opendir((dir + "/fd").c_str());
  if (!d) return std::nullopt;
  long long n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  FILE* f = std::fopen((dir + "/statm").c_str(), "re");
  if (!f) return std::nullopt;
  long long size = 0, resident = 0;
  const bool ok = std::fscanf(f, "%lld %lld", &size, &resident) == 2;
  std::fclose(f);
  if (!ok) return std::nullopt;
  p.fds = n;
  p.rss_kib = resident * (::sysconf(_SC_PAGESIZE) / 1024);
  p.threads = threads_of(dir);
  return p;
}

void resource_sampler::start(pid_t pid) {
  stop();
  std::lock_guard lock(mu_);
  pid_ = pid;
  stopping_ = false;
  samples_.clear();
  thread_ = std::thread([this] { loop(); });
}

void resource_sampler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int resource_sampler::interval_ms() const {
  std::lock_guard lock(mu_);
  return interval_ms_;
}

std::vector<resource_point> resource_sampler::samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

void resource_sampler::add(const resource_point& p) {
  if (samples_.size() + 1 > max_) {
    // Keep samples 0, 2, 4...: evenly spaced at twice the interval.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < samples_.size(); i += 2) samples_[kept++] = samples_[i];
    samples_.resize(kept);
    interval_ms_ *= 2;
  }
  samples_.push_back(p);
}

void resource_sampler::loop() {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto p = sample_process(pid_);
    lock.lock();
    if (stopping_) break;
    // Gone, or a zombie (no memory left): nothing more to see.
    if (!p || p->rss_kib == 0) break;
    // After a halving, the sample due may be one the new spacing skips.
    if (samples_.empty() ||
        p->t - samples_.back().t >= static_cast<double>(interval_ms_) / 1000.0 * 0.5)
      add(*p);
    // A late wake-up (a loaded machine) moves the schedule instead of bursting.
    next =
        std::max(next + std::chrono::milliseconds(interval_ms_), std::chrono::steady_clock::now());
    cv_.wait_until(lock, next, [this] { return stopping_; });
  }
}

}  // namespace faultmux
