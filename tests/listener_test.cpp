// The unix listener against the real kernel and a real `faultmux mux`
// process: raw clients that stall, send half a pid, vanish or run as another
// uid; accept() with the fd table full; the socket file's life; the backlog.
// The mux is observed through its events file and stderr only.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "mux/events.hpp"
#include "roles/process.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sanitizers.hpp"
#include "wire/hello.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::uint32_t self_pid() {
  return static_cast<std::uint32_t>(::getpid());
}

bool is(const json& e, std::string_view name) {
  return e.value("event", "") == name;
}

// The "log" events whose message contains every needle.
std::vector<std::string> logs_with(const std::vector<json>& events,
                                   std::initializer_list<std::string> needles) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (!is(e, "log")) continue;
    std::string msg = e.value("msg", "");
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return msg.find(n) != std::string::npos; }))
      out.push_back(msg);
  }
  return out;
}

std::size_t count_if(const std::vector<json>& events,
                     const std::function<bool(const json&)>& pred) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), pred));
}

std::set<std::string> dir_entries(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

bool exited_with(const std::optional<int>& st, int code) {
  return st && WIFEXITED(*st) && WEXITSTATUS(*st) == code;
}

std::string show(const std::optional<int>& st) {
  return st ? describe_status(*st) : std::string("still running");
}

// Stops the mux and waits until the kernel says it is stopped, so no accept()
// can slip in between the signal and the clients' connects.
bool stop(mux_process& mux) {
  mux.proc().signal(SIGSTOP);
  return eventually([&] { return process_state(mux.pid()) == 'T'; }, 3s);
}

// A forked child running fn and exiting with its result; killed and reaped if
// the test ends first. These test processes are single-threaded, so the child
// may use the ordinary helpers.
class forked_child {
 public:
  explicit forked_child(const std::function<int()>& fn) {
    pid_ = ::fork();
    if (pid_ == 0) ::_exit(fn());
  }
  forked_child(const forked_child&) = delete;
  forked_child& operator=(const forked_child&) = delete;
  ~forked_child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    eventually(
        [&] {
          int st = 0;
          if (::waitpid(pid_, &st, WNOHANG) == pid_) status_ = st;
          return status_.has_value();
        },
        timeout);
    return status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Scenarios stall-blocks-nobody and stall-during-storm: a client that connects and says nothing
// costs only its own connection. Mitogen 0.3.3 blocks its whole broker here.
TEST(Listener, StalledClientTimesOutAloneWhileOthersAreServed) {
  run_dir dir;
  // Long enough that 20 handshakes and a routed workload fit before it even
  // on a loaded machine: the point is that they do not wait for it.
  const int deadline_ms = 1000 * time_slack;
  mux_process mux(dir, {"--handshake-timeout-ms", std::to_string(deadline_ms)});
  const double stalled_at = events::now();
  unique_fd stalled = raw_connect(mux.socket_path());
  ASSERT_TRUE(stalled);

  std::vector<unique_fd> clients;
  std::set<std::uint32_t> ids;
  for (int i = 0; i < 20; ++i) {
    unique_fd keep;
    auto id = probe_handshake(mux.socket_path(), 5s, &keep);
    ASSERT_TRUE(id) << "client " << i << " got no identity";
    EXPECT_EQ(id->parent_id, 0u);
    EXPECT_EQ(id->parent_pid, static_cast<std::uint32_t>(mux.pid()));
    ids.insert(id->context_id);
    clients.push_back(std::move(keep));
  }
  const double handshakes_done = events::now();
  EXPECT_EQ(ids.size(), 20u) << "context ids must be distinct";

  // A routed exchange between two real workers while the stalled client waits.
  auto echo = spawn_logged(
      {binary(), "worker", "--connect", mux.socket_path(), "--events", dir.file("echo.events")},
      dir.file("echo.stderr"));
  auto line = echo.read_line(5s);
  auto hello = line ? wire::parse_hello(*line) : std::nullopt;
  ASSERT_TRUE(hello) << (line ? *line : "no line") << slurp(dir.file("echo.stderr"));
  const std::uint32_t peer = hello->context_id;
  auto load = spawn_logged(
      {binary(), "worker", "--connect", mux.socket_path(), "--peer", std::to_string(peer),
       "--count", "50", "--in-flight", "4", "--events", dir.file("load.events")},
      dir.file("load.stderr"));
  auto st = load.wait(10s);
  ASSERT_TRUE(exited_with(st, 0)) << show(st) << ": " << slurp(dir.file("load.stderr"));
  std::optional<json> done;
  for (auto& e : read_events(dir.file("load.events")))
    if (is(e, "workload_done")) done = e;
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["ok"], 50);
  EXPECT_EQ((*done)["failed"], 0);

  // Then, and only then, the stalled client is dropped: with nothing sent to it.
  ASSERT_TRUE(wait_peer_closed(stalled.get(), std::chrono::milliseconds(deadline_ms) + 3s))
      << "the stalled client was never closed";
  auto failed = mux.wait_event("handshake_failed", 1s);
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["errno"], "ETIMEDOUT");
  EXPECT_EQ((*failed)["got"], 0);
  EXPECT_EQ((*failed)["pid"], self_pid());
  const double failed_at = (*failed)["t"].get<double>();
  EXPECT_GE(failed_at - stalled_at, deadline_ms / 1000.0 - 0.01) << "timed out before its deadline";
  EXPECT_LT(handshakes_done, failed_at) << "the other handshakes waited for the stalled client";
  EXPECT_LT((*done)["t"].get<double>(), failed_at)
      << "the routed exchange waited for the stalled client";

  auto all = mux.events();
  EXPECT_EQ(count_if(all, [](const json& e) { return is(e, "handshake_failed"); }), 1u)
      << "only the stalled client may fail";
  EXPECT_EQ(count_if(all, [](const json& e) { return is(e, "handshake"); }), 22u);
  EXPECT_EQ(logs_with(all, {"failed to read remote identity, got 0 bytes",
                            "timed out after " + std::to_string(deadline_ms) + " ms",
                            std::to_string(self_pid())})
                .size(),
            1u)
      << mux.stderr_text();
  EXPECT_TRUE(mux.alive());
}

// Row 2: 0, 1, 2 or 3 bytes of pid, then close.
TEST(Listener, ClientSendingPartOfItsPidThenClosingIsLogged) {
  run_dir dir;
  mux_process mux(dir);
  const auto pid = be32(self_pid());
  for (std::size_t n = 0; n < 4; ++n) {
    SCOPED_TRACE(fmt::format("{} bytes sent", n));
    {
      unique_fd fd = raw_connect(mux.socket_path());
      ASSERT_TRUE(fd);
      if (n > 0) {
        ASSERT_TRUE(send_all(fd.get(), pid.data(), n));
      }
    }
    auto failed = mux.wait_event(
        [&](const json& e) { return is(e, "handshake_failed") && e["got"] == n; }, 3s);
    ASSERT_TRUE(failed) << mux.stderr_text();
    EXPECT_EQ((*failed)["errno"], "EOF");
    EXPECT_EQ((*failed)["pid"], self_pid()) << "the peer credentials name the client";
    EXPECT_EQ(
        logs_with(mux.events(), {fmt::format("failed to read remote identity, got {} bytes", n),
                                 std::to_string(self_pid())})
            .size(),
        1u)
        << mux.stderr_text();
    EXPECT_TRUE(mux.alive());
  }
  auto all = mux.events();
  EXPECT_EQ(count_if(all, [](const json& e) { return is(e, "handshake_failed"); }), 4u);
  EXPECT_EQ(count_if(all, [](const json& e) { return is(e, "stream_open"); }), 0u);

  auto id = probe_handshake(mux.socket_path());
  ASSERT_TRUE(id) << "the mux stopped serving";
  EXPECT_EQ(id->context_id, 1u) << "a client that never sent a whole pid used up a context id";
  EXPECT_TRUE(mux.alive());
}

// Row 1, made deterministic: the mux is stopped while the client connects,
// sends its pid and exits, so the reply can only meet a closed socket.
TEST(Listener, ClientExitingBeforeTheReplyIsLoggedWithItsPid) {
  run_dir dir;
  mux_process mux(dir);
  ASSERT_TRUE(stop(mux));
  forked_child client([&] {
    unique_fd fd = raw_connect(mux.socket_path());
    return fd && send_pid(fd.get(), static_cast<std::uint32_t>(::getpid())) ? 0 : 1;
  });
  auto st = client.wait(5s);
  mux.proc().signal(SIGCONT);
  ASSERT_TRUE(exited_with(st, 0)) << show(st);

  auto failed = mux.wait_event(
      [&](const json& e) { return is(e, "handshake_failed") && e["pid"] == client.pid(); }, 3s);
  ASSERT_TRUE(failed) << mux.stderr_text();
  EXPECT_EQ((*failed)["got"], 4);
  EXPECT_EQ((*failed)["errno"], "EPIPE");
  EXPECT_EQ(logs_with(mux.events(),
                      {fmt::format("failed to assign identity to PID {}", client.pid()), "EPIPE"})
                .size(),
            1u)
      << mux.stderr_text();

  unique_fd probe;
  ASSERT_TRUE(probe_handshake(mux.socket_path(), 5s, &probe)) << "the next client was not served";
  ASSERT_TRUE(mux.wait_event("stream_open", 3s));
  auto all = mux.events();
  EXPECT_EQ(count_if(all, [](const json& e) { return is(e, "stream_open"); }), 1u)
      << "only the probe may have a stream";
  EXPECT_EQ(count_if(all,
                     [&](const json& e) {
                       return is(e, "stream_open") &&
                              e["stream"] == fmt::format("unix_client.{}", client.pid());
                     }),
            0u);
  EXPECT_TRUE(mux.alive());
}

// Row 1 as it happens in the field: no stop, so either the reply meets a closed
// socket or the kernel buffers it and the stream sees the client go at once.
// Either way no stream is left registered.
TEST(Listener, ClientsExitingRightAfterTheirPidLeaveNoStream) {
  run_dir dir;
  mux_process mux(dir);
  std::vector<pid_t> pids;
  for (int i = 0; i < 5; ++i) {
    forked_child client([&] {
      unique_fd fd = raw_connect(mux.socket_path());
      return fd && send_pid(fd.get(), static_cast<std::uint32_t>(::getpid())) ? 0 : 1;
    });
    auto st = client.wait(5s);
    ASSERT_TRUE(exited_with(st, 0)) << show(st);
    pids.push_back(client.pid());
  }
  for (pid_t pid : pids) {
    SCOPED_TRACE(fmt::format("client PID {}", pid));
    const std::string name = fmt::format("unix_client.{}", pid);
    bool settled = eventually(
        [&] {
          auto all = mux.events();
          bool failed = count_if(
              all, [&](const json& e) { return is(e, "handshake_failed") && e["pid"] == pid; });
          bool opened = count_if(
              all, [&](const json& e) { return is(e, "stream_open") && e["stream"] == name; });
          bool gone = count_if(
              all, [&](const json& e) { return is(e, "disconnect") && e["stream"] == name; });
          return failed != opened && (!opened || gone);
        },
        3s);
    EXPECT_TRUE(settled) << "neither a failed handshake nor an opened-and-closed stream\n"
                         << mux.stderr_text();
  }
  auto all = mux.events();
  EXPECT_EQ(count_if(all, [](const json& e) { return is(e, "stream_open"); }),
            count_if(all, [](const json& e) { return is(e, "disconnect"); }))
      << "a stream is left registered";
  EXPECT_TRUE(probe_handshake(mux.socket_path())) << "the next client was not served";
  EXPECT_TRUE(mux.alive());
}

// A client that sends its pid and does not read: the 12-byte reply fits in the
// socket buffer, the handshake completes, and the handshake deadline no
// longer applies to the stream.
TEST(Listener, ClientThatNeverReadsTheReplyCostsNothing) {
  run_dir dir;
  mux_process mux(dir, {"--handshake-timeout-ms", "300"});
  unique_fd lazy = raw_connect(mux.socket_path());
  ASSERT_TRUE(lazy);
  ASSERT_TRUE(send_pid(lazy.get(), self_pid()));
  auto hs = mux.wait_event("handshake", 3s);
  ASSERT_TRUE(hs) << mux.stderr_text();
  EXPECT_EQ((*hs)["pid"], self_pid());
  ASSERT_TRUE(mux.wait_event("stream_open", 3s));

  unique_fd probe_fd;  // kept open: its end would be a disconnect event too
  auto probe = probe_handshake(mux.socket_path(), 5s, &probe_fd);
  ASSERT_TRUE(probe) << "the next client was not served";

  // Well past the 300 ms handshake deadline, nothing happened to it.
  EXPECT_FALSE(mux.wait_event(
      [](const json& e) { return is(e, "handshake_failed") || is(e, "disconnect"); }, 600ms));

  auto id = read_identity(lazy.get(), 1s);
  ASSERT_TRUE(id) << "the reply was lost";
  EXPECT_EQ(id->context_id, (*hs)["context_id"].get<std::uint32_t>());
  EXPECT_NE(id->context_id, probe->context_id);
  lazy.reset();
  EXPECT_TRUE(mux.wait_event(
      [&](const json& e) {
        return is(e, "disconnect") && e["stream"] == fmt::format("unix_client.{}", self_pid());
      },
      3s));
  EXPECT_TRUE(mux.alive());
}

// Row 4: the pid in two pieces, 100 ms apart. The accepted socket is
// non-blocking: another client is served in the gap.
TEST(Listener, PidInTwoPiecesCompletesTheHandshake) {
  run_dir dir;
  mux_process mux(dir);
  unique_fd slow = raw_connect(mux.socket_path());
  ASSERT_TRUE(slow);
  const auto pid = be32(self_pid());
  ASSERT_TRUE(send_all(slow.get(), pid.data(), 2));
  const auto gap_start = std::chrono::steady_clock::now();
  auto other = probe_handshake(mux.socket_path(), 5s);
  const auto other_took = std::chrono::steady_clock::now() - gap_start;
  if (other_took < 100ms) std::this_thread::sleep_for(100ms - other_took);  // 100 ms apart
  EXPECT_TRUE(other) << "a client was kept waiting by a half-sent pid";
  EXPECT_TRUE(stays_quiet(slow.get(), 0ms)) << "a reply before the whole pid arrived";
  const double second_piece_at = events::now();
  ASSERT_TRUE(send_all(slow.get(), pid.data() + 2, 2));

  auto id = read_identity(slow.get(), 3s);
  ASSERT_TRUE(id) << mux.stderr_text();
  EXPECT_EQ(id->parent_pid, static_cast<std::uint32_t>(mux.pid()));
  auto hs = mux.wait_event(
      [&](const json& e) { return is(e, "handshake") && e["context_id"] == id->context_id; }, 3s);
  ASSERT_TRUE(hs);
  EXPECT_EQ((*hs)["pid"], self_pid());
  EXPECT_GE((*hs)["t"].get<double>(), second_piece_at)
      << "completed before the second piece was sent";
  EXPECT_TRUE(mux.events("handshake_failed").empty()) << mux.stderr_text();
  EXPECT_TRUE(mux.alive());
}

// Row 6: accept() with the fd table full. Mitogen 0.3.3 tears its listener
// down; ours logs EMFILE, keeps the clients queued in the backlog and accepts
// them once fds are free.
TEST(Listener, AcceptSurvivesAFullFdTable) {
  run_dir dir;
  constexpr int limit = 16;
  mux_config cfg;
  cfg.prefix = {"/usr/bin/prlimit", fmt::format("--nofile={}:{}", limit, limit), "--"};
  mux_process mux(dir, {}, cfg);
  // Count the mux's fds once it is in its steady state (signal handling set
  // up, one stream served and gone), so the count is what it needs to run.
  ASSERT_TRUE(probe_handshake(mux.socket_path()));
  ASSERT_TRUE(mux.wait_event("disconnect", 3s));
  const int baseline = open_fd_count(mux.pid(), limit);
  ASSERT_GT(baseline, 0);
  const int room = limit - baseline;
  ASSERT_GE(room, 1) << "the mux needs " << baseline << " fds of " << limit << " just to listen";

  std::vector<unique_fd> held;
  for (int i = 0; i < room; ++i) {
    unique_fd keep;
    ASSERT_TRUE(probe_handshake(mux.socket_path(), 5s, &keep)) << "client " << i;
    held.push_back(std::move(keep));
  }
  ASSERT_TRUE(eventually([&] { return open_fd_count(mux.pid(), limit) == limit; }, 3s))
      << open_fd_count(mux.pid(), limit) << " fds open below " << limit;

  std::vector<unique_fd> queued;
  for (int i = 0; i < 3; ++i) {
    unique_fd fd = raw_connect(mux.socket_path());
    ASSERT_TRUE(fd) << "the backlog should still take clients";
    ASSERT_TRUE(send_pid(fd.get(), self_pid()));
    queued.push_back(std::move(fd));
  }
  auto err = mux.wait_event(
      [](const json& e) { return is(e, "accept_error") && e["errno"] == "EMFILE"; }, 3s);
  ASSERT_TRUE(err) << mux.stderr_text();
  EXPECT_EQ(logs_with(mux.events(), {"accept() failed: EMFILE", "listener stays up"}).size(), 1u)
      << "logged once, not once per retry\n"
      << mux.stderr_text();
  EXPECT_TRUE(mux.alive());
  for (auto& q : queued) EXPECT_TRUE(stays_quiet(q.get(), 0ms)) << "answered without an fd?";

  held.clear();  // the mux sees these streams end and gets its fds back
  ASSERT_TRUE(mux.wait_event("accept_recovered", 5s)) << mux.stderr_text();
  for (std::size_t i = 0; i < queued.size(); ++i)
    EXPECT_TRUE(read_identity(queued[i].get(), 5s)) << "queued client " << i << " never served";
  EXPECT_TRUE(probe_handshake(mux.socket_path())) << "a new client was not served";
  EXPECT_TRUE(mux.alive());
  EXPECT_TRUE(mux.events("handshake_failed").empty()) << mux.stderr_text();
  // The warm-up client, the held ones, the queued ones and the last probe.
  const std::size_t served = 1 + static_cast<std::size_t>(room) + queued.size() + 1;
  EXPECT_TRUE(eventually([&] { return mux.events("handshake").size() == served; }, 3s))
      << mux.events("handshake").size() << " handshakes, expected " << served;
}

// The listener creates a missing directory 0700 and the socket 0600, and
// leaves nothing else (its staging directory) behind.
TEST(Listener, SocketAndItsNewDirectoryArePrivate) {
  run_dir dir;
  const std::string sub = dir.file("private");
  mux_config cfg;
  cfg.socket = sub + "/mux.sock";
  mux_process mux(dir, {}, cfg);
  struct stat st {};
  ASSERT_EQ(::stat(sub.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u) << std::oct << (st.st_mode & 07777);
  ASSERT_EQ(::lstat(mux.socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u) << std::oct << (st.st_mode & 07777);
  EXPECT_EQ(dir_entries(sub), std::set<std::string>{"mux.sock"});
  EXPECT_TRUE(probe_handshake(mux.socket_path()));
}

// The path may use all of sun_path, however long its directory part: what
// the listener does before publishing the socket must not need more room.
TEST(Listener, SocketPathOfTheMaximumLengthWorks) {
  run_dir dir;
  const std::size_t max = sizeof(sockaddr_un::sun_path) - 1;
  const std::string leaf = "/mux.sock";
  const std::string sub =
      dir.path() + "/" + std::string(max - leaf.size() - dir.path().size() - 1, 'd');
  mux_config cfg;
  cfg.socket = sub + leaf;
  ASSERT_EQ(cfg.socket.size(), max);
  mux_process mux(dir, {}, cfg);
  auto id = probe_handshake(mux.socket_path());
  ASSERT_TRUE(id);
  EXPECT_EQ(id->parent_pid, static_cast<std::uint32_t>(mux.pid()));
  EXPECT_EQ(dir_entries(sub), std::set<std::string>{"mux.sock"});
}

// Row 23: a socket file left by a dead listener (bound, never listening:
// connect is refused) is replaced.
TEST(Listener, StaleSocketFileIsReplaced) {
  run_dir dir;
  const std::string path = dir.file("mux.sock");
  unique_fd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int err = 0;
  ASSERT_FALSE(raw_connect(path, false, &err));
  ASSERT_EQ(err, ECONNREFUSED);
  struct stat before {};
  ASSERT_EQ(::lstat(path.c_str(), &before), 0);

  mux_process mux(dir);
  struct stat after {};
  ASSERT_EQ(::lstat(path.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino) << "the stale socket is still there";
  EXPECT_EQ(after.st_mode & 07777, 0600u);
  auto id = probe_handshake(path);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->parent_pid, static_cast<std::uint32_t>(mux.pid()));
  EXPECT_NE(mux.stderr_text().find("replacing stale socket " + path), std::string::npos)
      << mux.stderr_text();
}

// Row 23: a live listener's path is never stolen.
TEST(Listener, SecondMuxOnALivePathExits2AndLeavesTheFirstAlone) {
  run_dir dir;
  mux_process first(dir);
  unique_fd client;
  ASSERT_TRUE(probe_handshake(first.socket_path(), 5s, &client));
  struct stat before {};
  ASSERT_EQ(::lstat(first.socket_path().c_str(), &before), 0);

  auto second = spawn_logged(
      {binary(), "mux", "--listen", first.socket_path(), "--events", dir.file("second.events")},
      dir.file("second.stderr"));
  auto st = second.wait(5s);
  const std::string err = slurp(dir.file("second.stderr"));
  ASSERT_TRUE(exited_with(st, 2)) << show(st) << ": " << err;
  EXPECT_NE(err.find(first.socket_path()), std::string::npos) << err;
  EXPECT_NE(err.find("another listener is alive"), std::string::npos) << err;
  EXPECT_FALSE(second.read_line(1s)) << "the second mux said it was listening";

  EXPECT_TRUE(first.alive());
  struct stat after {};
  ASSERT_EQ(::lstat(first.socket_path().c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the first mux's socket file was replaced";
  auto id = probe_handshake(first.socket_path());
  ASSERT_TRUE(id) << "the first mux stopped serving";
  EXPECT_EQ(id->parent_pid, static_cast<std::uint32_t>(first.pid()));
  EXPECT_TRUE(stays_quiet(client.get(), 0ms)) << "the first mux's client was disturbed";
  EXPECT_TRUE(first.events("listener_closed").empty());
}

TEST(Listener, SocketFileIsRemovedOnSigterm) {
  run_dir dir;
  mux_process mux(dir);
  unique_fd client;
  ASSERT_TRUE(probe_handshake(mux.socket_path(), 5s, &client));
  mux.proc().signal(SIGTERM);
  auto st = mux.proc().wait(5s);
  ASSERT_TRUE(exited_with(st, 0)) << show(st) << ": " << mux.stderr_text();
  struct stat s {};
  EXPECT_NE(::lstat(mux.socket_path().c_str(), &s), 0) << "socket file left behind";
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(dir_entries(dir.path()), (std::set<std::string>{"mux.events", "mux.stderr"}));
  EXPECT_EQ(mux.events("listener_closed").size(), 1u);
  EXPECT_TRUE(wait_peer_closed(client.get(), 1s)) << "the client was not told";
}

TEST(Listener, PathLongerThanSunPathIsAClearErrorAndExit2) {
  run_dir dir;
  // In a directory that does not exist yet: nothing may be created for a path
  // that can never be bound.
  const std::string path = dir.file("missing/" + std::string(120, 's') + ".sock");
  auto mux = spawn_logged({binary(), "mux", "--listen", path, "--events", dir.file("mux.events")},
                          dir.file("mux.stderr"));
  auto st = mux.wait(5s);
  const std::string err = slurp(dir.file("mux.stderr"));
  ASSERT_TRUE(exited_with(st, 2)) << show(st) << ": " << err;
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find(fmt::format("more than the {} a unix socket allows",
                                 sizeof(sockaddr_un::sun_path) - 1)),
            std::string::npos)
      << err;
  EXPECT_EQ(dir_entries(dir.path()), (std::set<std::string>{"mux.events", "mux.stderr"}))
      << "something was created for an unusable path";
}

// SO_PEERCRED: a client of another uid is refused, even when the file mode
// would let it connect.
TEST(Listener, ClientOfAnotherUidIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
  run_dir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  mux_process mux(dir);
  ASSERT_EQ(::chmod(mux.socket_path().c_str(), 0666), 0);

  // Exit codes: 0 closed without an identity; 10+ what went wrong instead.
  forked_child client([&] {
    if (::setuid(65534) != 0) return 10;
    unique_fd fd = raw_connect(mux.socket_path());
    if (!fd) return 11;
    send_pid(fd.get(), static_cast<std::uint32_t>(::getpid()));  // may meet EPIPE: fine
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 3000) <= 0) return 13;
    char buf[12];
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return 0;
    return n > 0 ? 12 : 14;
  });
  auto st = client.wait(5s);
  EXPECT_TRUE(exited_with(st, 0)) << show(st) << " (12: got an identity, 13: never closed)";

  auto refused = mux.wait_event(
      [&](const json& e) { return is(e, "handshake_failed") && e["pid"] == client.pid(); }, 3s);
  ASSERT_TRUE(refused) << mux.stderr_text();
  EXPECT_EQ((*refused)["uid"], 65534);
  EXPECT_EQ((*refused)["why"], "uid mismatch");
  EXPECT_EQ(logs_with(mux.events(),
                      {fmt::format("refusing connection from PID {}", client.pid()), "uid 65534"})
                .size(),
            1u)
      << mux.stderr_text();
  EXPECT_TRUE(mux.events("handshake").empty());
  EXPECT_TRUE(mux.events("stream_open").empty());
  EXPECT_TRUE(probe_handshake(mux.socket_path())) << "a client of the right uid is refused too";
}

// Row 5: clients that connect while the mux is stopped wait in the backlog.
// Linux queues backlog+1 of them; the next non-blocking connect() fails EAGAIN.
TEST(Listener, BacklogHoldsBacklogPlusOneWhileTheMuxIsStopped) {
  run_dir dir;
  constexpr int backlog = 8;
  mux_process mux(dir, {"--backlog", std::to_string(backlog)});
  for (int n : {backlog - 3, backlog, backlog + 1, backlog + 5}) {
    SCOPED_TRACE(fmt::format("{} clients, backlog {}", n, backlog));
    ASSERT_TRUE(stop(mux));
    std::vector<unique_fd> queued;
    int eagain = 0;
    std::vector<int> other;
    for (int i = 0; i < n; ++i) {
      int err = 0;
      unique_fd fd = raw_connect(mux.socket_path(), true, &err);
      if (!fd) {
        if (err == EAGAIN)
          ++eagain;
        else
          other.push_back(err);
        continue;
      }
      ASSERT_TRUE(send_pid(fd.get(), self_pid()));
      queued.push_back(std::move(fd));
    }
    for (auto& q : queued) EXPECT_TRUE(stays_quiet(q.get(), 0ms)) << "served while stopped?";
    mux.proc().signal(SIGCONT);
    EXPECT_TRUE(other.empty()) << other.size() << " connects failed, the first with "
                               << errno_text(other.empty() ? 0 : other.front());
    EXPECT_EQ(static_cast<int>(queued.size()), std::min(n, backlog + 1));
    EXPECT_EQ(eagain, std::max(0, n - (backlog + 1)));
    std::set<std::uint32_t> ids;
    for (std::size_t i = 0; i < queued.size(); ++i) {
      auto id = read_identity(queued[i].get(), 5s);
      ASSERT_TRUE(id) << "queued client " << i << " got no identity after SIGCONT";
      ids.insert(id->context_id);
    }
    EXPECT_EQ(ids.size(), queued.size());
  }
  EXPECT_TRUE(mux.alive());
  EXPECT_TRUE(mux.events("handshake_failed").empty()) << mux.stderr_text();
}

}  // namespace
}  // namespace faultmux::test
