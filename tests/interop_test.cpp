// Interop with a real Mitogen 0.3.3 (Debian's python3-mitogen, run with
// /usr/bin/python3): Mitogen clients through `faultmux mux`, a Mitogen
// client and a faultmux worker, faultmux workers through Mitogen's own
// router and unix listener. The Python programs are in tests/interop/.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "roles/process.hpp"
#include "tests/support/python_program.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using namespace std::chrono_literals;
using test::fields;
using test::finished;
using test::id_field;
using test::py_timeout;
using test::python;
using test::run_dir;
using test::wait_end;
using test::wait_limit;

// Stops a server process with SIGTERM and expects a clean exit.
void stop(child_process& p, const char* what) {
  p.signal(SIGTERM);
  auto st = p.wait(20s);
  ASSERT_TRUE(st) << what << " did not exit within 20 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << what << ": " << describe_status(*st);
}

class Interop : public testing::Test {
 protected:
  void SetUp() override {
    // tools/install-deps installs python3-mitogen: without it the setup is broken.
    ASSERT_TRUE(test::mitogen_version())
        << python << " cannot import mitogen: run tools/install-deps";
    // 0.3.3 prints as "(0, 3, 3)".
    RecordProperty("mitogen_version", *test::mitogen_version());
  }

  // Starts `faultmux mux` on <dir>/mux.sock and waits for "listening PATH".
  void start_mux() {
    socket_ = dir_.file("mux.sock");
    mux_ = child_process::spawn({test::binary(), "mux", "--listen", socket_}, true);
    auto line = mux_.read_line(20s);
    ASSERT_EQ(line.value_or("(nothing)"), "listening " + socket_);
  }

  // Starts an echo-only `faultmux worker` and returns its context id.
  std::optional<std::uint32_t> start_echo_worker(child_process& w) {
    w = child_process::spawn({test::binary(), "worker", "--connect", socket_}, true);
    auto line = w.read_line(20s);
    if (!line) {
      ADD_FAILURE() << "the worker printed nothing";
      return std::nullopt;
    }
    auto f = fields(*line);
    EXPECT_EQ(f.count("context_id"), 1u) << *line;
    EXPECT_EQ(f["parent_id"], "0") << *line;
    return id_field(f, "context_id");
  }

  run_dir dir_;
  std::string socket_;
  child_process mux_;
};

// 1. A real Mitogen client completes the handshake with faultmux mux: it gets
// a fresh context id, the listener's id 0 and its pid (Mitogen names the
// stream unix_listener.PID), and frames then flow both ways.
TEST_F(Interop, MitogenClientHandshakeWithFaultmuxMux) {
  ASSERT_NO_FATAL_FAILURE(start_mux());
  std::vector<std::uint32_t> ids;
  for (int i = 0; i < 2; ++i) {
    auto r = test::run_program(
        {python, "-B", test::interop_script("handshake.py"), socket_, py_timeout});
    ASSERT_TRUE(r.exited_zero()) << r.describe();
    ASSERT_EQ(r.lines.size(), 2u) << r.describe();
    auto f = fields(r.lines[0]);
    EXPECT_EQ(f["parent_id"], "0") << r.lines[0];
    EXPECT_EQ(f["stream"], "unix_listener." + std::to_string(mux_.pid())) << r.lines[0];
    std::uint32_t id = id_field(f, "context_id");
    EXPECT_GT(id, 0u);
    ids.push_back(id);
    EXPECT_EQ(r.lines[1], "invalid handle refused");
  }
  EXPECT_NE(ids[0], ids[1]) << "two clients got the same context id";
  ASSERT_NO_FATAL_FAILURE(stop(mux_, "faultmux mux"));
}

// 2. Two Mitogen clients exchange raw and pickled messages (bytes, str,
// tuples; up to 1 MiB) through faultmux mux; the receiver answers with
// msg.reply() and the sender checks every reply.
TEST_F(Interop, TwoMitogenClientsThroughFaultmuxMux) {
  ASSERT_NO_FATAL_FAILURE(start_mux());
  auto server = child_process::spawn(
      {python, "-B", test::interop_script("echo_server.py"), socket_, py_timeout}, true);
  auto line = server.read_line(wait_limit);
  ASSERT_TRUE(line) << "echo_server.py printed nothing";
  auto f = fields(*line);
  std::uint32_t server_id = id_field(f, "context_id");

  auto client = test::run_program({python, "-B", test::interop_script("echo_client.py"), socket_,
                                   std::to_string(server_id), f["raw_handle"], "--pickled-handle",
                                   f["pickled_handle"], "--stop", "--timeout", py_timeout});
  EXPECT_TRUE(client.exited_zero()) << client.describe();
  EXPECT_EQ(client.lines, std::vector<std::string>{"ok raw=75 pickled=9"}) << client.describe();

  auto served = wait_end(server, wait_limit);
  EXPECT_TRUE(served.exited_zero()) << "echo_server.py: " << served.describe();
  EXPECT_EQ(served.lines, std::vector<std::string>{"served raw=75 pickled=9"}) << served.describe();
  ASSERT_NO_FATAL_FAILURE(stop(mux_, "faultmux mux"));
}

// 3. A Mitogen client sends raw messages through faultmux mux to a faultmux
// worker's echo handle (1000) and gets the same bytes back, in order.
TEST_F(Interop, MitogenClientAndFaultmuxWorker) {
  ASSERT_NO_FATAL_FAILURE(start_mux());
  child_process worker;
  auto worker_id = start_echo_worker(worker);
  ASSERT_TRUE(worker_id);

  auto client = test::run_program({python, "-B", test::interop_script("echo_client.py"), socket_,
                                   std::to_string(*worker_id), "1000", "--timeout", py_timeout});
  EXPECT_TRUE(client.exited_zero()) << client.describe();
  EXPECT_EQ(client.lines, std::vector<std::string>{"ok raw=75 pickled=0"}) << client.describe();

  ASSERT_NO_FATAL_FAILURE(stop(worker, "faultmux worker"));
  ASSERT_NO_FATAL_FAILURE(stop(mux_, "faultmux mux"));
}

// 4. faultmux workers connect to Mitogen's own router and unix listener: an
// echo worker and a load worker whose 200 messages of 4 KiB (8 in flight)
// all come back correct and in order through Mitogen's router.
TEST_F(Interop, FaultmuxWorkersThroughMitogenListener) {
  socket_ = dir_.file("mitogen.sock");
  auto mitogen = child_process::spawn(
      {python, "-B", std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/mitogen_mux.py", "--listen",
       socket_},
      true);
  // The launcher says which Mitogen it imported, then that it listens.
  auto version = mitogen.read_line(wait_limit);
  EXPECT_EQ(version.value_or("(nothing)"), "version mitogen 0.3.3 /usr/lib/python3/dist-packages");
  auto listening = mitogen.read_line(wait_limit);
  ASSERT_EQ(listening.value_or("(nothing)"), "listening " + socket_);

  child_process echo;
  auto echo_id = start_echo_worker(echo);
  ASSERT_TRUE(echo_id);

  auto load = test::run_program({test::binary(), "worker", "--connect", socket_, "--peer",
                                 std::to_string(*echo_id), "--count", "200", "--size", "4096",
                                 "--in-flight", "8"});
  EXPECT_TRUE(load.exited_zero()) << load.describe();
  ASSERT_EQ(load.lines.size(), 2u) << load.describe();
  EXPECT_EQ(fields(load.lines[0])["parent_id"], "0") << load.lines[0];
  EXPECT_NE(id_field(fields(load.lines[0]), "context_id"), *echo_id);
  auto done = fields(load.lines[1]);
  EXPECT_EQ(done["ok"], "200") << load.lines[1];
  EXPECT_EQ(done["failed"], "0") << load.lines[1];

  ASSERT_NO_FATAL_FAILURE(stop(echo, "faultmux worker"));
  ASSERT_NO_FATAL_FAILURE(stop(mitogen, "mitogen_mux.py"));
}

// 5. A message to a context that does not exist, with reply_to set, comes
// back from faultmux mux as a dead message; Mitogen's Receiver raises
// ChannelError with the reason.
TEST_F(Interop, NoRouteIsADeadReplyForMitogen) {
  ASSERT_NO_FATAL_FAILURE(start_mux());
  auto r = test::run_program(
      {python, "-B", test::interop_script("no_route.py"), socket_, "4242", py_timeout});
  EXPECT_TRUE(r.exited_zero()) << r.describe();
  EXPECT_EQ(r.lines, std::vector<std::string>{"ChannelError: no route to 4242, my ID is 0"})
      << r.describe();
  ASSERT_NO_FATAL_FAILURE(stop(mux_, "faultmux mux"));
}

}  // namespace
}  // namespace faultmux
