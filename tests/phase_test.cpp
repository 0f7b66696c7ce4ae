// Process faults at a named phase (`--fault-at PHASE:ACTION`) and at a time
// (`faultmux fault signal`). The parser and the trigger are pure and tested
// with data; then each phase is hit exactly in a real worker or context: the
// process is dead (or stopped) precisely there, which the mux's events and the
// peers show (the mux saw the pid but never completed the handshake for
// pid-sent; the request reached its peer but its reply was never read for
// awaiting-reply; the worker's call ended with `the respondent Context has
// disconnected` within 100 ms for mid-call). A phase the process never
// reaches never fires.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "faults/phase.hpp"
#include "faults/signal_fault.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/mux_fixture.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/stream_support.hpp"
#include "wire/hello.hpp"
#include "wire/protocol.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
using fault::finished;
using ms = std::chrono::milliseconds;
using testing::HasSubstr;
namespace f = faults;

// --- the parser and the trigger ---------------------------------------------

TEST(PhaseParse, EveryPhaseAndAction) {
  struct row {
    const char* text;
    f::phase at;
    std::size_t bytes;
    f::phase_action action;
    const char* canonical;
  };
  const row rows[] = {
      {"connected:SIGKILL", f::phase::connected, 0, f::phase_action::sigkill, "connected:SIGKILL"},
      {"pid-sent:SIGTERM", f::phase::pid_sent, 0, f::phase_action::sigterm, "pid-sent:SIGTERM"},
      {"identity-received:stop", f::phase::identity_received, 0, f::phase_action::sigstop,
       "identity-received:SIGSTOP"},
      {"mid-frame:10:kill", f::phase::mid_frame, 10, f::phase_action::sigkill,
       "mid-frame:10:SIGKILL"},
      {"mid-call:SigStop", f::phase::mid_call, 0, f::phase_action::sigstop, "mid-call:SIGSTOP"},
      {"awaiting-reply:KILL", f::phase::awaiting_reply, 0, f::phase_action::sigkill,
       "awaiting-reply:SIGKILL"},
  };
  for (const row& r : rows) {
    std::string why;
    auto p = f::parse_phase_fault(r.text, &why);
    ASSERT_TRUE(p) << r.text << ": " << why;
    EXPECT_EQ(p->at, r.at) << r.text;
    EXPECT_EQ(p->frame_bytes, r.bytes) << r.text;
    EXPECT_EQ(p->action, r.action) << r.text;
    EXPECT_EQ(f::to_string(*p), r.canonical);
    EXPECT_EQ(f::parse_phase_fault(f::to_string(*p), nullptr), p) << "round trip of " << r.text;
  }
  EXPECT_EQ(f::role_of(f::phase::mid_call), f::phase_role::context);
  for (auto p : {f::phase::connected, f::phase::pid_sent, f::phase::identity_received,
                 f::phase::mid_frame, f::phase::awaiting_reply})
    EXPECT_EQ(f::role_of(p), f::phase_role::worker) << f::phase_name(p);
  EXPECT_EQ(f::action_signal(f::phase_action::sigstop), SIGSTOP);
}

TEST(PhaseParse, BadInputSaysWhatIsAccepted) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected PHASE:ACTION"},
      {"pid-sent", "expected PHASE:ACTION"},
      {"pid-snt:SIGKILL", "unknown phase \"pid-snt\": use one of connected, pid-sent"},
      {"mid-frame:SIGKILL", "mid-frame needs a byte count K of at least 1"},
      {"mid-frame:0:SIGKILL", "mid-frame needs a byte count K"},
      {"mid-frame:10", "expected mid-frame:K:ACTION"},
      {"pid-sent:SIGHUP", "unknown action \"SIGHUP\": use SIGKILL, SIGTERM or SIGSTOP"},
      {"pid-sent:", "unknown action"},
  };
  for (auto [text, part] : cases) {
    std::string why;
    EXPECT_FALSE(f::parse_phase_fault(text, &why)) << text;
    EXPECT_THAT(why, HasSubstr(part)) << text;
  }
}

TEST(PhaseTrigger, FiresOnlyAtItsPhaseAndOnce) {
  f::phase_trigger none;
  EXPECT_FALSE(none.armed());
  EXPECT_FALSE(none.reached(f::phase::connected));

  // SIGTERM, caught here, makes the firing observable in this process.
  static volatile sig_atomic_t terms = 0;
  struct sigaction sa {
  }, old{};
  sa.sa_handler = [](int) { terms = terms + 1; };
  ::sigaction(SIGTERM, &sa, &old);
  f::phase_trigger t(f::phase_fault{f::phase::pid_sent, 0, f::phase_action::sigterm});
  int before_calls = 0;
  auto before = [&](const f::phase_fault& fault) {
    ++before_calls;
    EXPECT_EQ(fault.at, f::phase::pid_sent);
  };
  EXPECT_FALSE(t.due(f::phase::connected));
  EXPECT_FALSE(t.reached(f::phase::connected, before));
  EXPECT_EQ(terms, 0);
  EXPECT_TRUE(t.due(f::phase::pid_sent));
  EXPECT_TRUE(t.reached(f::phase::pid_sent, before));
  EXPECT_EQ(terms, 1);
  EXPECT_EQ(before_calls, 1);
  // Once fired, never again.
  EXPECT_FALSE(t.armed());
  EXPECT_FALSE(t.reached(f::phase::pid_sent, before));
  EXPECT_EQ(terms, 1);
  ::sigaction(SIGTERM, &old, nullptr);
}

TEST(PhaseTrigger, SigkillEndsExactlyTheProcessThatReachesThePhase) {
  pid_t child = ::fork();
  if (child == 0) {
    f::phase_trigger t(f::phase_fault{f::phase::identity_received, 0, f::phase_action::sigkill});
    t.reached(f::phase::connected);
    t.reached(f::phase::pid_sent);
    t.reached(f::phase::identity_received);
    ::_exit(0);  // not reached
  }
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << describe_status(st);
}

TEST(SignalParse, NamesAndNumbers) {
  EXPECT_EQ(f::parse_signal("SIGKILL"), SIGKILL);
  EXPECT_EQ(f::parse_signal("kill"), SIGKILL);
  EXPECT_EQ(f::parse_signal("Stop"), SIGSTOP);
  EXPECT_EQ(f::parse_signal("18"), 18);
  EXPECT_FALSE(f::parse_signal("SIGNOPE"));
  EXPECT_FALSE(f::parse_signal("0"));
  EXPECT_FALSE(f::parse_signal("99"));
  EXPECT_FALSE(f::parse_signal(""));
  EXPECT_EQ(f::signal_name(SIGCONT), "SIGCONT");
  EXPECT_TRUE(f::is_stop_signal(SIGSTOP));
  EXPECT_FALSE(f::is_stop_signal(SIGKILL));
}

// --- phases hit in real processes ------------------------------------------

class Phase : public mux_fixture {
 protected:
  std::string wev = dir.file("worker.events");

  void TearDown() override { terminate_mux(); }

  std::vector<std::string> worker(const std::string& fault_at,
                                  const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{"--fault-at", fault_at};
    a.insert(a.end(), extra.begin(), extra.end());
    return worker_args(wev, a);
  }

  // The worker's own "fault" event (there is at most one).
  std::optional<json> worker_fault() const {
    auto faults = fault::named(read_events(wev), "fault");
    if (faults.empty()) return std::nullopt;
    EXPECT_EQ(faults.size(), 1u);
    return faults.front();
  }

  bool mux_logged(const std::string& what, ms timeout = 5s) const {
    return mux_log(what, timeout).has_value();
  }

  bool mux_handshook(pid_t pid) const {
    for (const json& e : mux->events("handshake"))
      if (e.value("pid", -1) == pid) return true;
    return false;
  }

  void stop_mux() {
    mux->proc().signal(SIGSTOP);
    ASSERT_TRUE(fault::wait_stopped(mux->pid()));
  }
};

TEST_F(Phase, ConnectedSigkill) {
  start();
  stop_mux();
  finished w = fault::run_faultmux(dir, worker("connected:SIGKILL"));
  mux->proc().signal(SIGCONT);
  ASSERT_TRUE(w.killed_by(SIGKILL)) << w.describe();
  auto fe = worker_fault();
  ASSERT_TRUE(fe);
  EXPECT_EQ(fe->value("phase", ""), "connected");
  pid_t pid = fe->value("pid", -1);
  EXPECT_TRUE(fault::named(read_events(wev), "connected").empty());
  // Connected, then gone before a single pid byte.
  EXPECT_TRUE(mux_logged(fmt::format(
      "failed to read remote identity, got 0 bytes: EOF (PID {} by peer credentials)", pid)))
      << mux->stderr_text();
  EXPECT_FALSE(mux_handshook(pid));
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

TEST_F(Phase, PidSentSigkill) {
  start();
  // Stopped, the mux cannot answer before the kill: it reads the pid of a
  // client that is already dead, and its reply meets a closed socket.
  stop_mux();
  finished w = fault::run_faultmux(dir, worker("pid-sent:SIGKILL"));
  mux->proc().signal(SIGCONT);
  ASSERT_TRUE(w.killed_by(SIGKILL)) << w.describe();
  auto fe = worker_fault();
  ASSERT_TRUE(fe);
  EXPECT_EQ(fe->value("phase", ""), "pid-sent");
  pid_t pid = fe->value("pid", -1);
  EXPECT_TRUE(mux_logged(fmt::format("failed to assign identity to PID {}: EPIPE", pid)))
      << mux->stderr_text();
  auto failed = mux->wait_event(
      [&](const json& e) {
        return e.value("event", "") == "handshake_failed" && e.value("pid", -1) == pid;
      },
      5s);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->value("got", -1), 4) << "the mux had the whole pid";
  EXPECT_FALSE(mux_handshook(pid)) << "never a completed handshake";
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

TEST_F(Phase, IdentityReceivedSigkill) {
  start();
  finished w = fault::run_faultmux(dir, worker("identity-received:SIGKILL"));
  ASSERT_TRUE(w.killed_by(SIGKILL)) << w.describe();
  auto fe = worker_fault();
  ASSERT_TRUE(fe);
  pid_t pid = fe->value("pid", -1);
  // The worker had its identity but never went on to say it was connected.
  EXPECT_TRUE(fault::named(read_events(wev), "connected").empty());
  EXPECT_THAT(w.out, testing::Not(HasSubstr("context_id=")));
  EXPECT_TRUE(eventually([&] { return mux_handshook(pid); }, 5s));
  // The stream ended at a frame boundary: an EOF with nothing partial.
  auto gone = mux->wait_event(streams::disconnect_of("unix_client." + std::to_string(pid)), 5s);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->value("why", ""), "EOF");
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

TEST_F(Phase, MidFrameSigkillAfterKBytes) {
  start();
  for (int k : {10, 40}) {
    finished w = fault::run_faultmux(
        dir, worker(fmt::format("mid-frame:{}:SIGKILL", k), {"--peer", std::to_string(echo.id)}));
    ASSERT_TRUE(w.killed_by(SIGKILL)) << w.describe();
    auto faults = fault::named(read_events(wev), "fault");
    ASSERT_FALSE(faults.empty());
    pid_t pid = faults.back().value("pid", -1);
    EXPECT_TRUE(mux_logged(fmt::format(
        "unix_client.{}: disconnected: EOF with {} bytes of an incomplete frame", pid, k)))
        << k << "\n"
        << mux->stderr_text();
  }
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

TEST_F(Phase, MidFrameSigstopHoldsOnlyItsOwnStream) {
  start();
  child_process w = fault::start_faultmux(
      dir, worker("mid-frame:30:SIGSTOP", {"--peer", std::to_string(echo.id)}), "worker");
  auto line = w.read_line(10s);
  auto hello = line ? wire::parse_hello(*line) : std::nullopt;
  ASSERT_TRUE(hello) << line.value_or("no line");
  const std::uint32_t id = hello->context_id;
  ASSERT_TRUE(fault::wait_stopped(w.pid()));
  // Half a frame from a stopped client blocks nobody else.
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
  // Resumed (by the time-based fault command), it finishes the frame and
  // works: it serves echo like any worker.
  finished cont = fault::run_faultmux(
      dir, {"fault", "signal", "--pid", std::to_string(w.pid()), "--signal", "SIGCONT"});
  ASSERT_TRUE(cont.exited(0)) << cont.describe();
  EXPECT_TRUE(
      eventually([&] { return !fault::named(read_events(wev), "fault_continued").empty(); }, 5s));
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), id));
  // Stopped mid-frame and resumed, the stream never looked wrong to the mux.
  EXPECT_THAT(fault::problem_logs(mux->events()), testing::IsEmpty());
  w.signal(SIGTERM);
  finished end = fault::finish(w, dir, "worker", 10s);
  EXPECT_TRUE(end.exited(0)) << end.describe();
}

TEST_F(Phase, AwaitingReplySigkill) {
  start();
  auto peer = streams::raw_client::connect_as(mux->socket_path(), streams::raw_client::fake_pid());
  finished w = fault::run_faultmux(
      dir, worker("awaiting-reply:SIGKILL", {"--peer", std::to_string(peer.id()), "--count", "3"}));
  ASSERT_TRUE(w.killed_by(SIGKILL)) << w.describe();
  auto hello = wire::parse_hello(w.out);
  ASSERT_TRUE(hello) << w.out;
  const std::uint32_t id = hello->context_id;
  // Dead first; only then does the peer read the request: it was on the
  // wire when the worker died, and no reply can have been read.
  auto req = peer.receive(5s);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->src_id, id);
  EXPECT_EQ(req->handle, 1000u);
  EXPECT_NE(req->reply_to, 0u);
  EXPECT_FALSE(peer.receive(200ms)) << "one request only: the worker died awaiting its reply";
  auto evs = read_events(wev);
  EXPECT_EQ(fault::named(evs, "fault").size(), 1u);
  EXPECT_TRUE(fault::named(evs, "reply").empty());
  EXPECT_TRUE(fault::named(evs, "workload_done").empty());
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

TEST_F(Phase, AwaitingReplySigstopThenResumed) {
  start();
  auto peer = streams::raw_client::connect_as(mux->socket_path(), streams::raw_client::fake_pid());
  child_process w = fault::start_faultmux(
      dir, worker("awaiting-reply:SIGSTOP", {"--peer", std::to_string(peer.id()), "--count", "1"}),
      "worker");
  ASSERT_TRUE(fault::wait_stopped(w.pid()));
  auto req = peer.receive(5s);
  ASSERT_TRUE(req);
  ASSERT_TRUE(peer.send(streams::to(req->src_id, req->reply_to, req->data)));
  // The reply waits in the stopped worker's socket.
  EXPECT_EQ(process_state(w.pid()), 'T');
  EXPECT_TRUE(fault::named(read_events(wev), "workload_done").empty());
  finished cont = fault::run_faultmux(
      dir, {"fault", "signal", "--pid", std::to_string(w.pid()), "--signal", "SIGCONT"});
  ASSERT_TRUE(cont.exited(0)) << cont.describe();
  finished end = fault::finish(w, dir, "worker", 10s);
  ASSERT_TRUE(end.exited(0)) << end.describe();
  auto done = fault::named(read_events(wev), "workload_done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].value("ok", 0), 1);
  auto cont_ev = fault::named(read_events(wev), "fault_continued");
  ASSERT_EQ(cont_ev.size(), 1u);
  EXPECT_LT(cont_ev[0].value("t", 0.0), done[0].value("t", 0.0));
}

TEST_F(Phase, AwaitingReplyOfTheFirstCall) {
  start();
  finished w = fault::run_faultmux(
      dir, {"worker", "--connect", mux->socket_path(), "--events", wev, "--context", "target",
            "--function", "echo", "--count", "3", "--fault-at", "awaiting-reply:SIGKILL"});
  ASSERT_TRUE(w.killed_by(SIGKILL)) << w.describe();
  // The context got the first call and answered it; the worker, dead with
  // the call on the wire, never saw the answer.
  auto served = mux->wait_event("call_served", 5s);
  ASSERT_TRUE(served) << mux->stderr_text();
  auto evs = read_events(wev);
  EXPECT_EQ(fault::named(evs, "fault").size(), 1u);
  EXPECT_EQ(fault::named(evs, "got_context").size(), 1u);
  EXPECT_TRUE(fault::named(evs, "call").empty());
  EXPECT_EQ(fault::named(mux->events(), "call_served").size(), 1u) << "one call only";
}

TEST_F(Phase, MidCallSigkillEndsTheCallWithin100ms) {
  start({"--context-fault-at", "victim=mid-call:SIGKILL"});
  finished w =
      fault::run_faultmux(dir, {"worker", "--connect", mux->socket_path(), "--events", wev,
                                "--context", "victim", "--function", "echo", "--count", "2"});
  ASSERT_TRUE(w.exited(1)) << w.describe();
  // The context recorded the fault with the call started, in the mux's events file.
  auto faults = fault::named(mux->events(), "fault");
  ASSERT_EQ(faults.size(), 1u) << mux->stderr_text();
  EXPECT_EQ(faults[0].value("role", ""), "context");
  EXPECT_EQ(faults[0].value("phase", ""), "mid-call");
  pid_t context = faults[0].value("pid", -1);
  EXPECT_TRUE(fault::named(fault::from_pid(mux->events(), context), "call_served").empty())
      << "the call never finished";
  auto exit = mux->wait_event("child_exit", 5s);
  ASSERT_TRUE(exit);
  int st = exit->value("status", 0);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << describe_status(st);
  auto calls = fault::named(read_events(wev), "call");
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls[0].value("seq", -1), 0);
  EXPECT_EQ(calls[0].value("outcome", ""), "disconnected");
  EXPECT_THAT(calls[0].value("error", ""), HasSubstr(reason::respondent_disconnected));
  double after = calls[0].value("t", 0.0) - faults[0].value("t", 0.0);
  EXPECT_GT(after, 0.0);
  EXPECT_LT(after, 0.1) << "the call ended " << after * 1000 << " ms after the kill";
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

TEST_F(Phase, MidCallSigstopThenResumed) {
  start({"--context-fault-at", "victim=mid-call:SIGSTOP"});
  child_process w =
      fault::start_faultmux(dir,
                            {"worker", "--connect", mux->socket_path(), "--events", wev,
                             "--context", "victim", "--function", "echo", "--count", "1"},
                            "worker");
  auto fe = mux->wait_event("fault", 10s);
  ASSERT_TRUE(fe) << mux->stderr_text();
  pid_t context = fe->value("pid", -1);
  ASSERT_TRUE(fault::wait_stopped(context));
  // Stopped mid-call: no outcome yet, and nothing else is held up.
  EXPECT_TRUE(fault::named(read_events(wev), "call").empty());
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
  ::kill(context, SIGCONT);
  finished end = fault::finish(w, dir, "worker", 10s);
  ASSERT_TRUE(end.exited(0)) << end.describe();
  auto calls = fault::named(read_events(wev), "call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].value("outcome", ""), "result");
}

TEST_F(Phase, APhaseNotReachedNeverFires) {
  start({"--context-fault-at", "victim=mid-call:SIGKILL"});
  // A worker with no workload never awaits a reply.
  child_process idle = fault::start_faultmux(dir, worker("awaiting-reply:SIGKILL"), "idle");
  auto line = idle.read_line(10s);
  auto hello = line ? wire::parse_hello(*line) : std::nullopt;
  ASSERT_TRUE(hello) << line.value_or("no line");
  const std::uint32_t id = hello->context_id;
  // It answers echo, so its loop (and its SIGTERM handling) runs.
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), id));
  idle.signal(SIGTERM);
  finished f = fault::finish(idle, dir, "idle", 10s);
  EXPECT_TRUE(f.exited(0)) << f.describe();
  // A worker that cannot connect never reaches `connected`.
  f = fault::run_faultmux(dir, {"worker", "--connect", dir.file("missing.sock"), "--events", wev,
                                "--fault-at", "connected:SIGKILL", "--connect-timeout-ms", "200"});
  EXPECT_TRUE(f.exited(3)) << f.describe();
  // A context that serves no call is never mid-call.
  f = fault::run_faultmux(
      dir, {"worker", "--connect", mux->socket_path(), "--context", "victim", "--count", "0"});
  EXPECT_TRUE(f.exited(0)) << f.describe();
  EXPECT_TRUE(mux->wait_event("context_ready", 5s));
  EXPECT_TRUE(fault::named(read_events(wev), "fault").empty());
  EXPECT_TRUE(fault::named(mux->events(), "fault").empty());
  EXPECT_TRUE(fault::named(mux->events(), "child_exit").empty()) << "the context lives on";
}

TEST_F(Phase, BadPhaseInputExitsTwo) {
  start();
  finished f = fault::run_faultmux(dir, worker("mid-call:SIGKILL"));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("phase mid-call is not reached by a worker"));
  f = fault::run_faultmux(dir, worker("mid-frame:90:SIGKILL"));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("use K from 1 to 89"));
  f = fault::run_faultmux(dir, {"mux", "--context-fault-at", "victim=pid-sent:SIGKILL"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("a context reaches mid-call"));
  f = fault::run_faultmux(dir, {"mux", "--context-fault-at", "mid-call:SIGKILL"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("expected NAME=PHASE:ACTION"));
  // A context passes faults on by path; the parent as victim needs a fault.
  const std::vector<std::string> ctx{"context", "--context-id", "5", "--parent-ids",
                                     "0",       "--name",       "x"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = ctx;
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  f = fault::run_faultmux(dir, with({"--fault-target", "parent"}));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("--fault-target parent needs --fault-at"));
  f = fault::run_faultmux(dir, with({"--context-fault-at", "y=pid-sent:SIGKILL@parent"}));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("a context reaches mid-call"));
  f = fault::run_faultmux(dir, with({"--legacy-bug", "no-such-bug"}));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("--legacy-bug no-such-bug: no such bug"));
}

// --- time-based faults -------------------------------------------------------

TEST_F(Phase, TimedStopAndResumeOfTheMux) {
  start();
  std::string fev = dir.file("fault.events");
  child_process cmd = fault::start_faultmux(
      dir,
      {"fault", "signal", "--pid", std::to_string(mux->pid()), "--signal", "SIGSTOP", "--after-ms",
       "50", "--resume-after-ms", "300", "--events", fev},
      "fault");
  ASSERT_TRUE(fault::wait_stopped(mux->pid()));
  // A client that connects meanwhile is answered only after the resume.
  unique_fd c = raw_connect(mux->socket_path());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_pid(c.get(), 1));
  EXPECT_FALSE(read_identity(c.get(), 100ms));
  EXPECT_TRUE(read_identity(c.get(), 5s));
  finished f = fault::finish(cmd, dir, "fault", 5s);
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr(fmt::format("sent SIGSTOP to PID {}, then SIGCONT", mux->pid())));
  auto evs = fault::named(read_events(fev), "fault");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].value("signal", ""), "SIGSTOP");
  EXPECT_EQ(evs[1].value("signal", ""), "SIGCONT");
  EXPECT_GE(evs[1].value("t", 0.0) - evs[0].value("t", 0.0), 0.29);
}

TEST_F(Phase, TimedKillAndBadInput) {
  start();
  child_process w = fault::start_faultmux(dir, {"worker", "--connect", mux->socket_path()}, "w");
  ASSERT_TRUE(w.read_line(10s));
  auto t0 = std::chrono::steady_clock::now();
  finished f = fault::run_faultmux(dir, {"fault", "signal", "--pid", std::to_string(w.pid()),
                                         "--signal", "KILL", "--after-ms", "100"});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  auto st = w.wait(5s);
  ASSERT_TRUE(st && WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);

  f = fault::run_faultmux(
      dir, {"fault", "signal", "--pid", std::to_string(w.pid()), "--signal", "SIGKILL"});
  EXPECT_TRUE(f.exited(1)) << f.describe();  // reaped: no such process
  EXPECT_THAT(f.err, HasSubstr("ESRCH"));
  f = fault::run_faultmux(
      dir, {"fault", "signal", "--pid", std::to_string(mux->pid()), "--signal", "SIGNOPE"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("--signal SIGNOPE: not a signal"));
  f = fault::run_faultmux(dir, {"fault", "signal", "--pid", std::to_string(mux->pid()), "--signal",
                                "SIGKILL", "--resume-after-ms", "10"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("needs a signal that stops the process"));
  EXPECT_TRUE(mux->alive());
}

}  // namespace
}  // namespace faultmux::test
