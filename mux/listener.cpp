#include "mux/listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "mux/broker.hpp"
#include "mux/events.hpp"
#include "mux/handshake.hpp"
#include "mux/log.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;

bool ready_now(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    throw listen_error(
        fmt::format("socket path {} is {} bytes, more than the {} a unix socket allows: "
                    "choose a shorter --listen path",
                    path, path.size(), sizeof(addr.sun_path) - 1));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// A socket file at `path` that refuses connections is stale and may be
// replaced; one that accepts (or whose backlog is full) belongs to a live
// listener and must never be stolen.
void check_existing(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode))
    throw listen_error(fmt::format(
        "{} exists and is not a socket: remove it or choose another --listen path", path));
  unique_fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_un addr = unix_address(path);
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ||
      errno == EAGAIN)
    throw listen_error(
        fmt::format("another listener is alive on {}: refusing to replace it", path));
  if (errno != ECONNREFUSED && errno != ENOENT)
    throw listen_error(fmt::format("cannot probe existing socket {}: {}", path, errno_text(errno)));
  spdlog::info("listener: replacing stale socket {}", path);
}

class listener_impl final : public listener {
 public:
  listener_impl(broker& b, listener_options opts, allocate_fn allocate, client_fn on_client)
      : broker_(b),
        opts_(std::move(opts)),
        allocate_(std::move(allocate)),
        on_client_(std::move(on_client)),
        sd_(b.io()) {}

  void bind() {
    if (opts_.path.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/faultmux-XXXXXX";
      if (!::mkdtemp(tmpl.data()))
        throw listen_error(
            fmt::format("cannot create private directory {}: {}", tmpl, errno_text(errno)));
      own_dir_ = tmpl;
      opts_.path = tmpl + "/mux.sock";
    }
    fs::path dir = fs::path(opts_.path).parent_path();
    if (dir.empty()) dir = ".";
    unix_address(opts_.path);  // length check before anything is created
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
      fs::create_directories(dir, ec);
      if (ec)
        throw listen_error(
            fmt::format("cannot create directory {}: {}", dir.string(), ec.message()));
      ::chmod(dir.c_str(), 0700);
    }
    check_existing(opts_.path);

    // Bind inside a fresh 0700 directory, set 0600, then rename into place:
    // the socket is never reachable with looser permissions.
    std::string stage = (dir / ".faultmux-bind-XXXXXX").string();
    if (!::mkdtemp(stage.data()))
      throw listen_error(fmt::format("cannot create staging directory in {}: {}", dir.string(),
                                     errno_text(errno)));
    std::string staged = stage + "/s";
    // The staged path is longer than the final one. When it does not fit in
    // sun_path, bind through the staging directory's fd, so that every path
    // that fits can be published.
    std::string bind_path = staged;
    unique_fd stage_fd;
    if (staged.size() >= sizeof(sockaddr_un::sun_path)) {
      stage_fd = unique_fd(::open(stage.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      bind_path = fmt::format("/proc/self/fd/{}/s", stage_fd.get());
    }
    auto cleanup_stage = [&] {
      ::unlink(staged.c_str());
      ::rmdir(stage.c_str());
    };
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      int err = errno;
      cleanup_stage();
      throw listen_error(fmt::format("socket(AF_UNIX) for {}: {}", opts_.path, errno_text(err)));
    }
    // legacy small-backlog: Mitogen listened with a fixed backlog of 30, so
    // more workers than that connecting while the mux was not scheduled got
    // EAGAIN (2647f735 made it follow the number of workers).
    if (opts_.legacy.small_backlog) opts_.backlog = 30;
    sockaddr_un addr = unix_address(bind_path);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::chmod(staged.c_str(), 0600) != 0 || ::listen(fd.get(), opts_.backlog) != 0 ||
        ::rename(staged.c_str(), opts_.path.c_str()) != 0) {
      int err = errno;
      cleanup_stage();
      throw listen_error(fmt::format("cannot listen on {}: {}", opts_.path, errno_text(err)));
    }
    cleanup_stage();
    struct stat st {};
    ::stat(opts_.path.c_str(), &st);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    fd_ = fd.get();
    sd_.assign(fd.release());
    spdlog::info("listener: listening on {} (backlog {})", opts_.path, opts_.backlog);
    events::emit(wire::ev::listening, {{"path", opts_.path}, {"backlog", opts_.backlog}});
  }

  void start() { accept_some(); }

  const std::string& path() const override { return opts_.path; }
  std::size_t handshakes_in_progress() const override { return pending_.size(); }

  void close() override {
    if (removed_) return;
    removed_ = true;
    stop_accepting();
    boost::system::error_code ignored;
    for (auto& [id, hs] : pending_) {
      hs->deadline.cancel();
      hs->sd.close(ignored);
    }
    pending_.clear();
    // Only remove the file if it is still the socket we published.
    struct stat st {};
    if (::lstat(opts_.path.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
      ::unlink(opts_.path.c_str());
    if (!own_dir_.empty()) ::rmdir(own_dir_.c_str());
    spdlog::debug("listener: closed {}", opts_.path);
    events::emit(wire::ev::listener_closed, {{"path", opts_.path}});
  }

  ~listener_impl() override {
    close();
    *alive_ = false;
  }

 private:
  struct pending {
    explicit pending(boost::asio::io_context& io) : sd(io) {}
    boost::asio::posix::stream_descriptor sd;
    int fd = -1;
    std::uint64_t id = 0;
    std::uint32_t context_id = 0;
    pid_t cred_pid = 0;
    handshake hs;
    timer_handle deadline;
    double started = 0;
    int spurious = 0;
    bool registered = false;  // with the event loop, pending_ and a deadline
  };

  void stop_accepting() {
    closed_ = true;
    retry_.cancel();
    boost::system::error_code ignored;
    sd_.close(ignored);
  }

  // What an exception escaping Mitogen's accept handler did: the broker
  // disconnected the listener's stream, closing the listening socket. The
  // socket file stays, so every later client gets ECONNREFUSED. Only the
  // legacy bugs come here.
  void legacy_crash(const char* bug, int err, const std::string& what) {
    if (closed_) return;
    spdlog::error("listener {}: {}: {}: the listener is closed (--legacy-bug {})", opts_.path, what,
                  err ? errno_text(err) : std::string("EOF"), bug);
    events::emit(
        wire::ev::listener_crashed,
        {{"bug", bug}, {"errno", err && strerrorname_np(err) ? strerrorname_np(err) : "EOF"}});
    stop_accepting();
  }

  void wait_acceptable() {
    if (closed_ || waiting_) return;
    waiting_ = true;
    sd_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                   [this, alive = alive_](const boost::system::error_code& ec) {
                     if (!*alive) return;
                     waiting_ = false;
                     if (!ec && !closed_) accept_some();
                   });
  }

  void retry_after(std::chrono::milliseconds d) {
    retry_ = broker_.after(d, [this, alive = alive_] {
      if (!*alive || closed_) return;
      retry_ = {};
      accept_some();
    });
  }

  void accept_some() {
    for (int i = 0; i < 64 && !closed_; ++i) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        if (accept_failures_) {
          spdlog::info("listener {}: accept() works again after {} failures", opts_.path,
                       accept_failures_);
          events::emit(wire::ev::accept_recovered, {{"failures", accept_failures_}});
          accept_failures_ = 0;
        }
        start_handshake(unique_fd(fd));
        continue;
      }
      int err = errno;
      // legacy accept-crash: Mitogen's Listener.on_receive let an accept()
      // error (EMFILE above all) escape, and the broker closed the listener
      // (#866).
      if (opts_.legacy.accept_crash && err != EAGAIN && err != EWOULDBLOCK)
        return legacy_crash("accept-crash", err, "accept() failed");
      switch (err) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
          spdlog::warn("listener {}: accept() failed: {}: accepting the next client", opts_.path,
                       errno_text(err));
          events::emit(wire::ev::accept_error, {{"errno", strerrorname_np(err)}});
          continue;
        case EAGAIN:
          if (ready_now(fd_, POLLIN)) return retry_after(std::chrono::milliseconds(1));
          return wait_acceptable();
        default: {
          // EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unexpected: the
          // client stays queued in the backlog; back off and try again.
          auto delay = std::chrono::milliseconds(std::min(500, 5 << std::min(accept_failures_, 6)));
          if (accept_failures_ == 0 || accept_failures_ % 50 == 0)
            spdlog::error("listener {}: accept() failed: {}: listener stays up, retrying in {} ms",
                          opts_.path, errno_text(err), delay.count());
          events::emit(wire::ev::accept_error,
                       {{"errno", strerrorname_np(err) ? strerrorname_np(err) : "?"}});
          ++accept_failures_;
          return retry_after(delay);
        }
      }
    }
    if (!closed_) {
      // Yield to other work, then go on accepting.
      broker_.defer([this, alive = alive_] {
        if (*alive && !closed_) accept_some();
      });
    }
  }

  void start_handshake(unique_fd fd) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      spdlog::error("listener {}: SO_PEERCRED failed: {}: closing the connection", opts_.path,
                    errno_text(errno));
      return;
    }
    // legacy no-uid-check: any local user's client is handed a context id.
    if (cred.uid != own_uid_ && !opts_.legacy.no_uid_check) {
      spdlog::error(
          "listener {}: refusing connection from PID {}: it runs as uid {}, the mux as uid {}",
          opts_.path, cred.pid, cred.uid, own_uid_);
      events::emit(wire::ev::handshake_failed,
                   {{"pid", cred.pid}, {"why", "uid mismatch"}, {"uid", cred.uid}});
      return;
    }
    auto p = std::make_shared<pending>(broker_.io());
    p->id = next_pending_++;
    p->cred_pid = cred.pid;
    p->fd = fd.release();
    p->started = events::now();
    // legacy blocking-handshake: Mitogen 0.3.3's on_accept_client calls
    // sock.setblocking(True) and reads the pid with a blocking recv on the
    // broker thread, so a client that sends nothing stalls every other
    // client until it closes (017e8105). The blocking
    // recv below has no deadline: the handshake timer is never armed. The
    // stream sets O_NONBLOCK again when it takes the socket over.
    if (opts_.legacy.blocking_handshake)
      ::fcntl(p->fd, F_SETFL, ::fcntl(p->fd, F_GETFL) & ~O_NONBLOCK);
    // Most clients have sent their pid by now: finish at once, and touch the
    // event loop and the timers only for those that have not.
    step(p);
  }

  // The client must wait for its socket: register it, with its deadline.
  void wait(const std::shared_ptr<pending>& p,
            boost::asio::posix::descriptor_base::wait_type type) {
    if (!p->registered) {
      p->registered = true;
      p->sd.assign(p->fd);
      pending_[p->id] = p;
      std::weak_ptr<pending> weak = p;
      // legacy no-handshake-deadline: a client that says nothing holds its
      // slot until it closes.
      if (!opts_.legacy.no_handshake_deadline)
        p->deadline = broker_.after(opts_.handshake_timeout, [this, alive = alive_, weak] {
          auto hs = weak.lock();
          if (!*alive || !hs) return;
          fail(*hs, ETIMEDOUT,
               fmt::format("handshake timed out after {} ms", opts_.handshake_timeout.count()));
        });
    }
    std::weak_ptr<pending> weak = p;
    p->sd.async_wait(type, [this, alive = alive_, weak](const boost::system::error_code& ec) {
      auto hs = weak.lock();
      if (!*alive || !hs || ec) return;
      step(hs);
    });
  }

  void fail(pending& p, int err, const std::string& detail) {
    if (p.hs.current() == handshake::state::reading_pid) {
      spdlog::error(
          "listener: failed to read remote identity, got {} bytes: {} (PID {} by peer "
          "credentials)",
          p.hs.pid_bytes(), detail, p.cred_pid);
    } else {
      spdlog::error("listener: failed to assign identity to PID {}: {}", p.hs.client_pid(), detail);
    }
    events::emit(wire::ev::handshake_failed,
                 {{"pid", p.hs.pid_bytes() == 4 ? p.hs.client_pid() : p.cred_pid},
                  {"got", p.hs.pid_bytes()},
                  {"errno", err ? strerrorname_np(err) : "EOF"},
                  {"detail", detail}});
    finish(p);
  }

  void finish(pending& p) {
    p.deadline.cancel();
    if (!p.registered) {
      ::close(p.fd);
      return;
    }
    boost::system::error_code ignored;
    p.sd.close(ignored);
    pending_.erase(p.id);  // may free p
  }

  // Advances one client's handshake as far as its socket allows.
  void step(const std::shared_ptr<pending>& p) {
    while (p->hs.current() == handshake::state::reading_pid) {
      auto space = p->hs.pid_space();
      ssize_t n = ::recv(p->fd, space.data(), space.size(), 0);
      // legacy crash-on-eagain: Mitogen read the pid with one recv on an
      // accepted socket that was non-blocking; a short read dropped the
      // client and an error (EAGAIN when the pid was not there yet) escaped
      // the accept handler and closed the listener (#131).
      if (opts_.legacy.crash_on_eagain && n != static_cast<ssize_t>(space.size())) {
        int err = n < 0 ? errno : 0;
        if (n < 0) legacy_crash("crash-on-eagain", err, "recv() of the remote identity failed");
        return fail(*p, err, n < 0 ? errno_text(err) : "short read");
      }
      if (n > 0) {
        if (p->hs.pid_received(static_cast<std::size_t>(n))) {
          p->context_id = allocate_();
          p->hs.set_identity(p->context_id, opts_.context_id, own_pid_);
        }
        continue;
      }
      if (n == 0) return fail(*p, 0, "EOF");
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        if (ready_now(p->fd, POLLIN) && p->spurious++ < 1000) continue;
        return wait(p, boost::asio::posix::descriptor_base::wait_read);
      }
      return fail(*p, err, errno_text(err));
    }
    while (p->hs.current() == handshake::state::writing_reply) {
      auto left = p->hs.reply_left();
      ssize_t n = ::send(p->fd, left.data(), left.size(), MSG_NOSIGNAL);
      if (n > 0) {
        p->hs.reply_sent(static_cast<std::size_t>(n));
        continue;
      }
      int err = n == 0 ? EPIPE : errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        if (ready_now(p->fd, POLLOUT) && p->spurious++ < 1000) continue;
        return wait(p, boost::asio::posix::descriptor_base::wait_write);
      }
      // legacy epipe-crash: an error sending the identity (EPIPE from a
      // client that left after its pid) escaped Mitogen's accept handler and
      // closed the listener (870bbe0e).
      if (opts_.legacy.epipe_crash)
        legacy_crash("epipe-crash", err,
                     fmt::format("send() of the identity to PID {} failed", p->hs.client_pid()));
      return fail(*p, err, errno_text(err));
    }
    // Done: hand the socket over.
    p->deadline.cancel();
    int fd = p->registered ? p->sd.release() : p->fd;
    accepted_client c{unique_fd(fd), p->hs.client_pid(), p->context_id};
    double ms = (events::now() - p->started) * 1000;
    spdlog::debug("listener: accepted PID {} as context {} in {:.2f} ms", c.pid, c.context_id, ms);
    events::emit(wire::ev::handshake, {{"pid", c.pid}, {"context_id", c.context_id}, {"ms", ms}});
    if (p->registered) pending_.erase(p->id);
    on_client_(std::move(c));
  }

  broker& broker_;
  listener_options opts_;
  allocate_fn allocate_;
  client_fn on_client_;
  boost::asio::posix::stream_descriptor sd_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::string own_dir_;
  bool closed_ = false;   // no longer accepting
  bool removed_ = false;  // close() ran: socket file and directory removed
  bool waiting_ = false;
  int accept_failures_ = 0;
  timer_handle retry_;
  std::map<std::uint64_t, std::shared_ptr<pending>> pending_;
  std::uint64_t next_pending_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  const uid_t own_uid_ = ::geteuid();
  const std::uint32_t own_pid_ = static_cast<std::uint32_t>(::getpid());
};

}  // namespace

std::unique_ptr<listener> listener::create(broker& b, listener_options opts, allocate_fn allocate,
                                           client_fn on_client) {
  auto l = std::make_unique<listener_impl>(b, std::move(opts), std::move(allocate),
                                           std::move(on_client));
  l->bind();
  l->start();
  return l;
}

}  // namespace faultmux
