#include "mux/child.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <iterator>
#include <system_error>

#include <boost/asio/readable_pipe.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include "mux/broker.hpp"
#include "mux/events.hpp"
#include "mux/log.hpp"
#include "wire/event_names.hpp"

namespace faultmux {

namespace bp = boost::process::v2;

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

void line_splitter::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::string_view part = bytes.substr(0, nl);
    if (skipping_) {
      if (nl == std::string_view::npos) return;
      skipping_ = false;
    } else if (buf_.size() + part.size() > limit_) {
      buf_.append(part.substr(0, limit_ - buf_.size()));
      on_line_(buf_, true);
      buf_.clear();
      skipping_ = nl == std::string_view::npos;
      if (skipping_) return;
    } else if (nl == std::string_view::npos) {
      buf_.append(part);
      return;
    } else {
      buf_.append(part);
      on_line_(buf_, false);
      buf_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void line_splitter::finish() {
  if (!buf_.empty()) on_line_(buf_, false);
  buf_.clear();
  skipping_ = false;
}

namespace {

// Passes one descriptor to the child as a fixed number. Boost 1.81's
// posix::bind_fd lacks a return in on_setup (undefined behaviour at -O2).
struct pass_fd {
  int target;
  int fd;
  bp::error_code on_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                          const char* const*) {
    launcher.fd_whitelist.push_back(target);
    return {};
  }
  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*) {
    if (::dup2(fd, target) == -1) return bp::error_code(errno, bp::system_category());
    return {};
  }
};

// Boost 1.81's close_all_fds skips the gaps between whitelisted fds (it
// compares each entry with itself), so a descriptor without FD_CLOEXEC
// numbered between the channel (3) and the launcher's error pipe reached
// the child. Runs in the forked child before exec, after pass_fd: closes
// everything not whitelisted, without allocating (other threads of the
// parent may have held the allocator's lock at the fork).
struct close_other_fds {
  bp::error_code on_exec_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                               const char* const*) {
    int keep[16];
    std::size_t n = 0;
    for (int fd : launcher.fd_whitelist)
      if (n < std::size(keep)) keep[n++] = fd;
    std::sort(keep, keep + n);
    unsigned int from = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto fd = static_cast<unsigned int>(keep[i]);
      if (fd > from) ::close_range(from, fd - 1, 0);
      from = std::max(from, fd + 1);
    }
    ::close_range(from, ~0u, 0);
    return {};
  }
};

// Boost 1.81's launcher, when exec fails in the forked child, ends that
// child with exit() (our atexit handlers and stdio buffers copied from us
// run in it) and never reaps it. So the child ends with _exit here, and
// launch() reaps it. Boost detects this hook with a five-argument call and
// makes a four-argument one, hence the variadic signature.
struct exit_quietly_on_exec_error {
  template <class... A>
  void on_exec_error(bp::posix::default_launcher&, A&&...) {
    ::_exit(127);
  }
};

// Records the errno of a failed fork. Boost 1.81 reads errno for its error
// only after its hooks have run, and says the program's path, not that it
// was the fork that failed (EAGAIN: RLIMIT_NPROC or the pid space is full).
struct note_fork_error {
  int* err;
  template <class... A>
  void on_fork_error(bp::posix::default_launcher&, A&&...) {
    *err = errno;
  }
};

class child_impl final : public child, public std::enable_shared_from_this<child_impl> {
 public:
  child_impl(broker& b, child_options opts, exit_fn on_exit)
      : broker_(b),
        opts_(std::move(opts)),
        on_exit_(std::move(on_exit)),
        out_(b.io()),
        err_(b.io()) {}

  void launch() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      throw std::system_error(errno, std::generic_category(), "socketpair for " + opts_.name);
    ours_ = unique_fd(sv[0]);
    unique_fd theirs(sv[1]);
    std::vector<std::string> args(opts_.argv.begin() + 1, opts_.argv.end());
    bp::error_code ec;
    int fork_err = 0;
    bp::posix::default_launcher launcher;
    bp::process proc =
        launcher(boost::asio::any_io_executor(broker_.io().get_executor()), ec, opts_.argv[0], args,
                 bp::process_stdio{nullptr, out_, err_}, pass_fd{3, theirs.get()},
                 close_other_fds{}, exit_quietly_on_exec_error{}, note_fork_error{&fork_err});
    if (fork_err != 0)
      throw std::system_error(fork_err, std::generic_category(), "fork for " + opts_.name);
    if (ec) {
      // A child forked before the failure (exec failed in it) is ours to reap.
      if (launcher.pid <= 0)
        throw std::system_error(ec.value(), std::generic_category(), opts_.argv[0]);
      int status;
      while (::waitpid(launcher.pid, &status, 0) < 0 && errno == EINTR) {
      }
      // The forked child reported the errno of its exec (or of the fd set-up
      // just before it): say so, as for the socketpair and the fork.
      throw std::system_error(ec.value(), std::generic_category(),
                              "exec of " + opts_.argv[0] + " for " + opts_.name);
    }
    proc_ = std::make_unique<bp::process>(std::move(proc));
    pid_ = proc_->id();
    events::emit(wire::ev::child_start, {{"child", opts_.name}, {"child_pid", pid_}});
    spdlog::debug("{}: started as PID {}", opts_.name, pid_);
    read(out_, out_buf_, out_lines_, "stdout");
    read(err_, err_buf_, err_lines_, "stderr");
    proc_->async_wait(
        [self = shared_from_this()](bp::error_code ec, int code) { self->on_wait(ec); });
  }

  unique_fd take_stream_fd() override { return std::move(ours_); }
  pid_t pid() const override { return pid_; }
  const std::string& name() const override { return opts_.name; }
  bool exited() const override { return exited_; }
  int signal(int sig) override {
    if (exited_ || pid_ <= 0) return 0;
    if (::kill(pid_, sig) == 0) return 0;
    int err = errno;
    if (err == EPERM) unsignalable_ = true;
    return err;
  }

  bool output_read() const override { return pipes_read_ == 2; }

  std::string last_output() const override {
    std::string s;
    for (const auto& l : recent_) s += l + "\n";
    return s;
  }

  ~child_impl() override {
    // Never leave a zombie: a child still running when its owner goes is
    // killed and reaped here.
    // One we may not signal would hold us in waitpid for as long as it
    // likes: it is left to end by itself, and Boost's own destructor, which
    // would SIGKILL it and wait, is told it is not ours.
    if (proc_ && !exited_ && unsignalable_) proc_->detach();
    if (proc_ && !exited_ && !unsignalable_) {
      bp::error_code ec;
      proc_->terminate(ec);
      proc_->wait(ec);
    }
  }

 private:
  using pipe = boost::asio::readable_pipe;

  void read(pipe& p, std::array<char, 4096>& buf, std::unique_ptr<line_splitter>& lines,
            const char* which) {
    if (!lines) {
      lines = std::make_unique<line_splitter>(
          opts_.line_limit, [this, which](std::string_view line, bool cut) {
            std::string text = latin1_to_utf8(line);
            if (cut) text += fmt::format(" [line cut at {} bytes]", opts_.line_limit);
            spdlog::info("{}: {}", opts_.name, text);
            events::emit(wire::ev::child_output,
                         {{"child", opts_.name}, {"stream", which}, {"line", text}});
            recent_.push_back(text.substr(0, 512));
            if (recent_.size() > 10) recent_.pop_front();
          });
    }
    p.async_read_some(boost::asio::buffer(buf), [self = shared_from_this(), &p, &buf, &lines,
                                                 which](bp::error_code ec, std::size_t n) {
      if (n) lines->feed(std::string_view(buf.data(), n));
      if (ec) {
        lines->finish();
        ++self->pipes_read_;
        return;
      }
      self->read(p, buf, lines, which);
    });
  }

  void on_wait(bp::error_code ec) {
    exited_ = true;
    int status = proc_->native_exit_code();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      spdlog::debug("{}: PID {} exited with status 0", opts_.name, pid_);
    else
      spdlog::info("{}: PID {} {}", opts_.name, pid_,
                   WIFSIGNALED(status) ? fmt::format("killed by signal {}", WTERMSIG(status))
                                       : fmt::format("exited with status {}", WEXITSTATUS(status)));
    events::emit(wire::ev::child_exit,
                 {{"child", opts_.name}, {"child_pid", pid_}, {"status", status}});
    if (on_exit_) std::exchange(on_exit_, nullptr)(status);
  }

  broker& broker_;
  child_options opts_;
  exit_fn on_exit_;
  pipe out_, err_;
  std::array<char, 4096> out_buf_{}, err_buf_{};
  std::unique_ptr<line_splitter> out_lines_, err_lines_;
  std::deque<std::string> recent_;
  int pipes_read_ = 0;  // of stdout and stderr, those read to their end
  std::unique_ptr<bp::process> proc_;
  unique_fd ours_;
  pid_t pid_ = -1;
  bool exited_ = false;
  bool unsignalable_ = false;  // kill() met EPERM
};

}  // namespace

std::shared_ptr<child> child::start(broker& b, child_options opts, exit_fn on_exit) {
  auto c = std::make_shared<child_impl>(b, std::move(opts), std::move(on_exit));
  c->launch();
  return c;
}

}  // namespace faultmux
