// The client side of the unix handshake, in-process, against the real kernel:
// every way connect_unix can fail must be one connect_error naming the errno
// and the path, within the deadline; and `faultmux worker` must say so.
#include "mux/connect.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "roles/process.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// The connect_error connect_unix throws, or nullopt when it connects.
std::optional<connect_error> connect_failure(const std::string& path,
                                             std::chrono::milliseconds deadline) {
  try {
    connect_unix(path, deadline);
  } catch (const connect_error& e) {
    return e;
  }
  return std::nullopt;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

sockaddr_un address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  return addr;
}

// A socket bound at `path`; listening when backlog >= 0.
unique_fd bound_socket(const std::string& path, int backlog) {
  unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr = address(path);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return unique_fd();
  if (backlog >= 0 && ::listen(fd.get(), backlog) != 0) return unique_fd();
  return fd;
}

// Reads exactly n bytes from a blocking socket; false on EOF or error.
bool read_exact(int fd, void* buf, std::size_t n) {
  auto p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// A listener played by the test: a thread accepts one connection and runs
// `serve` on it (with an fd that becomes readable when the test ends), then
// closes it. The pid the client sent is kept when serve reads it.
class fake_listener {
 public:
  using serve_fn = std::function<void(int conn, int stop, fake_listener& self)>;

  fake_listener(const std::string& path, serve_fn serve) : fd_(bound_socket(path, 8)) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      stop_r_ = unique_fd(p[0]);
      stop_w_ = unique_fd(p[1]);
    }
    if (fd_ && stop_r_) thread_ = std::thread([this, serve = std::move(serve)] { run(serve); });
  }
  fake_listener(const fake_listener&) = delete;
  fake_listener& operator=(const fake_listener&) = delete;
  ~fake_listener() {
    if (stop_w_) (void)!::write(stop_w_.get(), "x", 1);
    if (thread_.joinable()) thread_.join();
  }

  bool ok() const { return fd_ && thread_.joinable(); }
  // Reads the client's 4-byte pid; false when it does not come.
  bool read_pid(int conn) {
    std::uint8_t b[4];
    if (!read_exact(conn, b, sizeof(b))) return false;
    pid_ = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           b[3];
    return true;
  }
  std::optional<std::uint32_t> pid() const {
    std::uint32_t v = pid_;
    return v ? std::optional(v) : std::nullopt;
  }

 private:
  void run(const serve_fn& serve) {
    pollfd p[2] = {{fd_.get(), POLLIN, 0}, {stop_r_.get(), POLLIN, 0}};
    if (::poll(p, 2, 10000) <= 0 || (p[1].revents & POLLIN)) return;
    unique_fd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn) serve(conn.get(), stop_r_.get(), *this);
  }

  unique_fd fd_, stop_r_, stop_w_;
  std::atomic<std::uint32_t> pid_{0};
  std::thread thread_;
};

// Blocks until the test ends (the stop fd becomes readable).
void wait_for_stop(int stop) {
  pollfd p{stop, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

// Row 9.
TEST(Connect, MissingPathIsENOENTNamingThePath) {
  run_dir dir;
  const std::string path = dir.file("missing.sock");
  auto err = connect_failure(path, 1s);
  ASSERT_TRUE(err) << "connected to nothing";
  EXPECT_EQ(err->error(), ENOENT);
  EXPECT_EQ(err->path(), path);
  EXPECT_TRUE(contains(err->what(), path)) << err->what();
  EXPECT_TRUE(contains(err->what(), "ENOENT")) << err->what();
}

// Row 9: a socket file nobody listens on (a dead listener's leftover).
TEST(Connect, StaleSocketIsECONNREFUSED) {
  run_dir dir;
  const std::string path = dir.file("stale.sock");
  unique_fd stale = bound_socket(path, -1);
  ASSERT_TRUE(stale);
  auto err = connect_failure(path, 1s);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->error(), ECONNREFUSED);
  EXPECT_EQ(err->path(), path);
  EXPECT_TRUE(contains(err->what(), path)) << err->what();
  EXPECT_TRUE(contains(err->what(), "ECONNREFUSED")) << err->what();
}

// Row 5, client side: a backlog that stays full is EAGAIN on Linux, retried
// until the deadline and then reported as EAGAIN, not as a success (Asio) or
// a hang.
TEST(Connect, FullBacklogIsEAGAINAtTheDeadline) {
  run_dir dir;
  const std::string path = dir.file("full.sock");
  unique_fd listener = bound_socket(path, 0);  // queues one connection; never accepts
  ASSERT_TRUE(listener);
  std::vector<unique_fd> fillers;
  int err = 0;
  while (fillers.size() < 64) {
    unique_fd fd = raw_connect(path, true, &err);
    if (!fd) break;
    fillers.push_back(std::move(fd));
  }
  ASSERT_EQ(err, EAGAIN) << errno_text(err);
  ASSERT_GE(fillers.size(), 1u);

  const auto deadline = 300ms;
  const auto start = steady::now();
  auto failure = connect_failure(path, deadline);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
  ASSERT_TRUE(failure) << "connected through a full backlog";
  EXPECT_EQ(failure->error(), EAGAIN);
  EXPECT_EQ(failure->path(), path);
  EXPECT_TRUE(contains(failure->what(), "EAGAIN")) << failure->what();
  EXPECT_TRUE(contains(failure->what(), path)) << failure->what();
  // It kept retrying for (nearly) the whole deadline, and stopped there: the
  // last backoff step is at most 50 ms.
  EXPECT_GE(took, deadline - 60ms);
  EXPECT_LE(took, deadline + 150ms);
}

// Row 5, client side: a backlog full only for a while is retried, and the
// client gets through once the listener drains it.
TEST(Connect, BacklogFullForAWhileIsRetried) {
  run_dir dir;
  const std::string path = dir.file("busy.sock");
  unique_fd listener = bound_socket(path, 0);
  ASSERT_TRUE(listener);
  std::vector<unique_fd> fillers;
  int err = 0;
  while (fillers.size() < 64) {
    unique_fd fd = raw_connect(path, true, &err);
    if (!fd) break;
    fillers.push_back(std::move(fd));
  }
  ASSERT_EQ(err, EAGAIN) << errno_text(err);

  std::atomic<std::uint32_t> got_pid{0};
  std::thread drain([&] {
    std::this_thread::sleep_for(100ms);  // the scenario: the backlog stays full this long
    for (std::size_t i = 0; i <= fillers.size(); ++i) {
      pollfd p{listener.get(), POLLIN, 0};
      if (::poll(&p, 1, 3000) <= 0) return;
      unique_fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn || i < fillers.size()) continue;  // a filler: dropped
      std::uint8_t b[4];
      if (!read_exact(conn.get(), b, sizeof(b))) return;
      got_pid = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                (std::uint32_t{b[2]} << 8) | b[3];
      std::vector<std::uint8_t> reply;
      for (std::uint32_t v : {9u, 0u, 1234u}) {
        auto bytes = be32(v);
        reply.insert(reply.end(), bytes.begin(), bytes.end());
      }
      send_all(conn.get(), reply.data(), reply.size());
    }
  });
  const auto start = steady::now();
  std::optional<connection> c;
  std::string failure;
  try {
    c = connect_unix(path, 3s);
  } catch (const connect_error& e) {
    failure = e.what();
  }
  const auto took = steady::now() - start;
  drain.join();
  ASSERT_TRUE(c) << failure;
  EXPECT_EQ(c->context_id, 9u);
  EXPECT_EQ(c->parent_pid, 1234u);
  EXPECT_EQ(got_pid, static_cast<std::uint32_t>(::getpid()));
  EXPECT_GE(took, 90ms) << "got through a full backlog?";
}

// Row 8: the listener answers 5 of the 12 bytes and closes.
TEST(Connect, ShortReplyThenCloseIsECONNRESET) {
  run_dir dir;
  const std::string path = dir.file("short.sock");
  fake_listener fake(path, [](int conn, int, fake_listener& self) {
    if (!self.read_pid(conn)) return;
    const char five[5] = {0, 0, 0, 7, 0};
    (void)!::send(conn, five, sizeof(five), MSG_NOSIGNAL);
  });
  ASSERT_TRUE(fake.ok());
  auto err = connect_failure(path, 2s);
  ASSERT_TRUE(err) << "a 5-byte identity was accepted";
  EXPECT_EQ(err->error(), ECONNRESET);
  EXPECT_EQ(err->path(), path);
  EXPECT_TRUE(contains(err->what(), "5 of 12")) << err->what();
  EXPECT_TRUE(contains(err->what(), path)) << err->what();
  EXPECT_EQ(fake.pid(), static_cast<std::uint32_t>(::getpid()));
}

// Row 8: the listener closes at once, with the client's pid unread (the kernel
// resets the connection) or before the client sends it (EPIPE).
TEST(Connect, ListenerClosingMidHandshakeIsAConnectError) {
  run_dir dir;
  const std::string path = dir.file("closing.sock");
  fake_listener fake(path, [](int, int, fake_listener&) {});
  ASSERT_TRUE(fake.ok());
  auto err = connect_failure(path, 2s);
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->error() == ECONNRESET || err->error() == EPIPE) << err->what();
  EXPECT_EQ(err->path(), path);
  EXPECT_TRUE(contains(err->what(), path)) << err->what();
}

// Row 8: the listener reads the pid and says nothing: the deadline ends it.
TEST(Connect, SilentListenerIsETIMEDOUTAtTheDeadline) {
  run_dir dir;
  const std::string path = dir.file("silent.sock");
  fake_listener fake(path, [](int conn, int stop, fake_listener& self) {
    if (self.read_pid(conn)) wait_for_stop(stop);
  });
  ASSERT_TRUE(fake.ok());
  const auto deadline = 300ms;
  const auto start = steady::now();
  auto err = connect_failure(path, deadline);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->error(), ETIMEDOUT);
  EXPECT_EQ(err->path(), path);
  EXPECT_TRUE(contains(err->what(), "0 of 12")) << err->what();
  EXPECT_GE(took, deadline - 10ms);
  EXPECT_LE(took, deadline + 150ms);
}

TEST(Connect, SuccessReturnsTheIdsTheListenerSent) {
  run_dir dir;
  const std::string path = dir.file("good.sock");
  fake_listener fake(path, [](int conn, int stop, fake_listener& self) {
    if (!self.read_pid(conn)) return;
    std::vector<std::uint8_t> reply;
    for (std::uint32_t v : {7u, 0x01020304u, 4242u}) {
      auto b = be32(v);
      reply.insert(reply.end(), b.begin(), b.end());
    }
    if (send_all(conn, reply.data(), reply.size())) wait_for_stop(stop);
  });
  ASSERT_TRUE(fake.ok());
  connection c = connect_unix(path, 2s);
  EXPECT_EQ(c.context_id, 7u);
  EXPECT_EQ(c.parent_id, 0x01020304u);
  EXPECT_EQ(c.parent_pid, 4242u);
  EXPECT_EQ(fake.pid(), static_cast<std::uint32_t>(::getpid())) << "our pid, big-endian";
  ASSERT_TRUE(c.fd);
  EXPECT_TRUE(::fcntl(c.fd.get(), F_GETFL) & O_NONBLOCK) << "the header promises non-blocking";
}

TEST(Connect, SuccessAgainstARealMux) {
  run_dir dir;
  mux_process mux(dir);
  connection c = connect_unix(mux.socket_path(), 5s);
  EXPECT_EQ(c.context_id, 1u);
  EXPECT_EQ(c.parent_id, 0u);
  EXPECT_EQ(c.parent_pid, static_cast<std::uint32_t>(mux.pid()));
  auto hs = mux.wait_event("handshake", 3s);
  ASSERT_TRUE(hs);
  EXPECT_EQ((*hs)["pid"], ::getpid());
  EXPECT_EQ((*hs)["context_id"], 1);
}

// Row 9: the worker says "cannot connect" clearly and exits 3.
TEST(Connect, WorkerExits3NamingThePathAndTheErrno) {
  run_dir dir;
  struct target {
    std::string path;
    const char* errno_name;
  };
  unique_fd stale = bound_socket(dir.file("stale.sock"), -1);
  ASSERT_TRUE(stale);
  for (const target& t : {target{dir.file("missing.sock"), "ENOENT"},
                          target{dir.file("stale.sock"), "ECONNREFUSED"}}) {
    SCOPED_TRACE(t.path);
    const std::string events = dir.file("worker.events"), err_path = dir.file("worker.stderr");
    ::unlink(events.c_str());
    ::unlink(err_path.c_str());
    auto worker = spawn_logged({binary(), "worker", "--connect", t.path, "--connect-timeout-ms",
                                "1000", "--events", events},
                               err_path);
    auto st = worker.wait(5s);
    const std::string err = slurp(err_path);
    ASSERT_TRUE(st) << "the worker is still running";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 3) << describe_status(*st) << ": " << err;
    EXPECT_TRUE(contains(err, "cannot connect to " + t.path)) << err;
    EXPECT_TRUE(contains(err, t.errno_name)) << err;
    EXPECT_FALSE(worker.read_line(1s)) << "the worker printed an identity";
    std::optional<json> failed;
    for (auto& e : read_events(events))
      if (e.value("event", "") == "connect_failed") failed = e;
    ASSERT_TRUE(failed) << slurp(events);
    EXPECT_EQ((*failed)["path"], t.path);
    EXPECT_EQ((*failed)["errno"], t.errno_name);
  }
}

}  // namespace
}  // namespace faultmux::test
