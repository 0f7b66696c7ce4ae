#include "roles/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

extern char** environ;

namespace faultmux {

namespace {

// Every faultmux process (the mux, each context, each worker) holds fds 0-2
// before anything else opens a descriptor: one started with stdio closed
// would otherwise have its listening socket, epoll or event file land on
// 0-2, where a stray write or a child's dup2 of stdio would hit it. A
// constructor of high priority runs before C++ static initialisation.
__attribute__((constructor(101))) void reserve_stdio() {
  // Lowest first: open() takes the lowest free number, so each lands on fd.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0) ::_exit(126);
  }
}

}  // namespace

namespace {

// This process's environment with `add` on top (a name in `add` replaces it).
std::vector<char*> environment_with(const std::vector<std::string>& add) {
  std::vector<char*> out;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    bool replaced = false;
    for (const auto& a : add)
      replaced = replaced || v.substr(0, v.find('=') + 1) == a.substr(0, a.find('=') + 1);
    if (!replaced) out.push_back(*e);
  }
  for (const auto& a : add) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

child_process child_process::spawn(const std::vector<std::string>& argv, bool capture_stdout,
                                   const std::string& stderr_path,
                                   const std::vector<std::string>& env) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp = env.empty() ? std::vector<char*>() : environment_with(env);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int pipefd[2] = {-1, -1};
  if (capture_stdout) {
    if (::pipe2(pipefd, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  }
  if (!stderr_path.empty())
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  // Children get stdin, stdout and stderr only, whatever the parent holds.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  child_process c;
  int rc = ::posix_spawn(&c.pid_, argv[0].c_str(), &fa, nullptr, args.data(),
                         env.empty() ? environ : envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (capture_stdout) ::close(pipefd[1]);
  if (rc != 0) {
    if (capture_stdout) ::close(pipefd[0]);
    c.pid_ = -1;
    throw std::system_error(rc, std::generic_category(), "cannot start " + argv[0]);
  }
  c.out_fd_ = capture_stdout ? pipefd[0] : -1;
  return c;
}

std::vector<child_process> spawn_all(const std::vector<spawn_request>& requests, int parallel) {
  std::vector<child_process> out(requests.size());
  std::vector<std::exception_ptr> errors(requests.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < requests.size();) {
      const auto& r = requests[i];
      try {
        out[i] = child_process::spawn(r.argv, r.capture_stdout, r.stderr_path, r.env);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const std::size_t at_once =
      std::min(requests.size(), static_cast<std::size_t>(std::max(1, parallel)));
  std::vector<std::thread> threads;  // this thread is one of them
  for (std::size_t t = 1; t < at_once; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

child_process::child_process(child_process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      out_fd_(std::exchange(o.out_fd_, -1)),
      out_buf_(std::move(o.out_buf_)),
      status_(std::exchange(o.status_, std::nullopt)),
      exited_at_(std::exchange(o.exited_at_, std::nullopt)) {}

child_process& child_process::operator=(child_process&& o) noexcept {
  if (this != &o) {
    this->~child_process();
    new (this) child_process(std::move(o));
  }
  return *this;
}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = out_buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    if (out_fd_ < 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    char buf[4096];
    ssize_t r = ::read(out_fd_, buf, sizeof(buf));
    if (r <= 0) {
      ::close(out_fd_);
      out_fd_ = -1;
      continue;
    }
    out_buf_.append(buf, static_cast<std::size_t>(r));
  }
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  auto end = std::chrono::steady_clock::now() + timeout;
  auto nap = std::chrono::microseconds(200);
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      timespec ts{};
      ::clock_gettime(CLOCK_MONOTONIC, &ts);
      exited_at_ = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
      return status_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(20000));
  }
}

void child_process::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return fmt::format("killed by SIG{}", name ? name : std::to_string(WTERMSIG(status)));
  }
  return fmt::format("status {}", status);
}

}  // namespace faultmux
