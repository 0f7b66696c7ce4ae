#include "harness/resource_sampler.hpp"

#include <dirent.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

namespace {

// The queue of one unix_diag_msg (its attributes follow it) when its socket
// file is the inode `ino`.
std::optional<listen_queue> queue_at(const nlmsghdr* h, ino_t ino) {
  const auto* msg = static_cast<const unix_diag_msg*>(NLMSG_DATA(h));
  const char* at = reinterpret_cast<const char*>(msg + 1);
  const char* end = reinterpret_cast<const char*>(h) + h->nlmsg_len;
  bool same_file = false;
  std::optional<listen_queue> q;
  while (at + sizeof(rtattr) <= end) {
    const auto* a = reinterpret_cast<const rtattr*>(at);
    if (a->rta_len < sizeof(rtattr) || at + a->rta_len > end) break;
    const std::size_t payload = a->rta_len - RTA_LENGTH(0);
    if (a->rta_type == UNIX_DIAG_VFS && payload >= sizeof(unix_diag_vfs))
      same_file = static_cast<const unix_diag_vfs*>(RTA_DATA(a))->udiag_vfs_ino == ino;
    if (a->rta_type == UNIX_DIAG_RQLEN && payload >= sizeof(unix_diag_rqlen)) {
      const auto* r = static_cast<const unix_diag_rqlen*>(RTA_DATA(a));
      q = listen_queue{r->udiag_rqueue, r->udiag_wqueue};
    }
    at += RTA_ALIGN(a->rta_len);
  }
  return same_file ? q : std::nullopt;
}

}  // namespace

// The accept queue is read with NETLINK_SOCK_DIAG (what `ss -xl` uses):
// /proc/net/unix has no queue length at all, and for a listening AF_UNIX
// socket UNIX_DIAG_RQLEN gives exactly the pending connections (the
// receive queue holds one skb per connection not yet accepted) and the
// backlog limit (sk_max_ack_backlog), unprivileged, for any process's socket.
// The socket is found by its file's inode (UNIX_DIAG_VFS), not its name: a
// target may bind a temporary path and rename it into place (the built-in
// mux does), and the kernel keeps the name it was bound with.
std::optional<listen_queue> listen_queue_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return std::nullopt;
  int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } request{};
  request.nlh.nlmsg_len = sizeof request;
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.req.sdiag_family = AF_UNIX;
  request.req.udiag_states = 1u << 10;  // TCP_LISTEN
  request.req.udiag_show = UDIAG_SHOW_VFS | UDIAG_SHOW_RQLEN;
  std::optional<listen_queue> found;
  bool done = ::send(fd, &request, sizeof request, 0) != static_cast<ssize_t>(sizeof request);
  alignas(nlmsghdr) char buf[16384];
  while (!done) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    std::size_t off = 0;
    while (off + sizeof(nlmsghdr) <= static_cast<std::size_t>(n)) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(buf + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || off + h->nlmsg_len > static_cast<std::size_t>(n))
        break;
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        done = true;
        break;
      }
      if (!found && h->nlmsg_len >= NLMSG_LENGTH(sizeof(unix_diag_msg)))
        found = queue_at(h, st.st_ino);
      off += NLMSG_ALIGN(h->nlmsg_len);
    }
  }
  ::close(fd);
  return found;
}

void resource_sampler::start(pid_t pid, const std::string& listen_path) {
  stop();
  std::lock_guard lock(mu_);
  pid_ = pid;
  listen_path_ = listen_path;
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
    if (p && !listen_path_.empty())
      if (auto q = listen_queue_of(listen_path_)) {
        p->accept_queue = q->queued;
        p->listen_backlog = q->limit;
      }
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
