// Misbehaving contexts (`--behave`, faults/child_behaviour.hpp). The parser
// is pure and tested with data; then a real mux starts contexts told to
// misbehave: the act happens in the context its path names, at its first
// call (or its start), and nowhere else; a context that serves no call never
// acts.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "faults/child_behaviour.hpp"
#include "roles/context_args.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/mux_fixture.hpp"
#include "tests/support/mux_process.hpp"
#include "wire/protocol.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
using fault::finished;
using testing::HasSubstr;
namespace f = faults;

// --- the parser --------------------------------------------------------------

TEST(ChildBehaviourParse, EveryBehaviourItsDefaultAndItsCanonicalText) {
  struct row {
    const char* text;
    f::child_act act;
    std::uint64_t n;
    std::uint32_t pipe;
    const char* canonical;
  };
  for (const row& r : std::vector<row>{
           {"linger", f::child_act::linger, 3000, 0, "linger:3000"},
           {"linger:250", f::child_act::linger, 250, 0, "linger:250"},
           {"linger-ignoring-sigterm", f::child_act::linger_ignoring_sigterm, 4000, 0,
            "linger-ignoring-sigterm:4000"},
           {"stderr-then-exit", f::child_act::stderr_then_exit, 65536, 0, "stderr-then-exit:65536"},
           {"stderr-without-newline:10 pipe=4096", f::child_act::stderr_without_newline, 10, 4096,
            "stderr-without-newline:10 pipe=4096"},
           {"log-flood:7", f::child_act::log_flood, 7, 0, "log-flood:7"},
           {"malformed-log", f::child_act::malformed_log, 0, 0, "malformed-log"},
       }) {
    SCOPED_TRACE(r.text);
    std::string why;
    auto b = f::parse_child_behaviour(r.text, &why);
    ASSERT_TRUE(b) << why;
    EXPECT_EQ(b->act, r.act);
    EXPECT_EQ(b->n, r.n);
    EXPECT_EQ(b->pipe_bytes, r.pipe);
    EXPECT_EQ(f::to_string(*b), r.canonical);
    EXPECT_EQ(f::parse_child_behaviour(f::to_string(*b), nullptr), b) << "round trip";
  }
  EXPECT_TRUE(f::before_hello(f::child_act::stderr_then_exit));
  EXPECT_FALSE(f::before_hello(f::child_act::linger));
}

TEST(ChildBehaviourParse, BadInputSaysWhatIsWrongAndWhatIsAccepted) {
  for (const char* bad : {"", "sulk", "linger:", "linger:0", "linger:x", "linger:-5",
                          "malformed-log:3", "log-flood:10 pipe=", "log-flood:10 pipes=4096",
                          "log-flood:10 pipe=0", "linger:99999999999"}) {
    SCOPED_TRACE(bad);
    std::string why;
    EXPECT_FALSE(f::parse_child_behaviour(bad, &why));
    EXPECT_THAT(why, HasSubstr("expected NAME[:N][ pipe=BYTES]"));
    EXPECT_THAT(why, HasSubstr("linger-ignoring-sigterm[:ms]"));
  }
  std::string why;
  f::parse_child_behaviour("malformed-log:3", &why);
  EXPECT_THAT(why, HasSubstr("malformed-log takes no number"));
}

TEST(ChildBehaviourParse, PassedDownToTheContextItsPathNames) {
  context_settings s;
  s.behaviours = {{"a", "linger:10"}, {"a/b", "log-flood:5"}, {"c", "malformed-log"}};
  auto a = child_context_args(s, "a");
  EXPECT_THAT(a,
              testing::ElementsAre("--behave", "linger:10", "--context-behave", "b=log-flood:5"));
  EXPECT_THAT(child_context_args(s, "c"), testing::ElementsAre("--behave", "malformed-log"));
  EXPECT_TRUE(child_context_args(s, "b").empty()) << "b is a's child, not the mux's";
}

// --- in real contexts ----------------------------------------------------------

class Misbehaviour : public mux_fixture {
 protected:
  std::string wev = dir.file("worker.events");

  void TearDown() override { terminate_mux(); }

  finished call(const std::string& context, int count, const std::string& events) {
    return fault::run_faultmux(
        dir, {"worker", "--connect", mux->socket_path(), "--events", events, "--context", context,
              "--function", "echo", "--count", std::to_string(count)});
  }
};

TEST_F(Misbehaviour, LingerActsAtTheFirstCallOfTheNamedContextOnly) {
  start({"--context-behave", "victim=linger:3000"});
  // Another context answers all its calls and records no fault.
  std::string bystander = dir.file("bystander.events");
  finished b = call("bystander", 20, bystander);
  ASSERT_TRUE(b.exited(0)) << b.describe();
  EXPECT_TRUE(fault::named(mux->events(), "fault").empty()) << mux->stderr_text();

  finished w = call("victim", 3, wev);
  EXPECT_TRUE(w.exited(1)) << w.describe();
  auto faults = fault::named(mux->events(), "fault");
  ASSERT_EQ(faults.size(), 1u) << mux->stderr_text();
  EXPECT_EQ(faults[0].value("kind", ""), "behaviour");
  EXPECT_EQ(faults[0].value("spec", ""), "linger:3000");
  auto calls = fault::named(read_events(wev), "call");
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls[0].value("outcome", ""), "disconnected");
  // It runs on after its channel closed: SIGTERM after the grace, logged, and it dies of it.
  EXPECT_TRUE(mux_log("context victim (PID")) << mux->stderr_text();
  auto exit = mux->wait_event("child_exit", 5s);
  ASSERT_TRUE(exit) << mux->stderr_text();
  int st = exit->value("status", 0);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) << describe_status(st);
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

TEST_F(Misbehaviour, AContextThatServesNoCallNeverActs) {
  start({"--context-behave", "victim=linger:3000"});
  finished w = call("victim", 0, wev);
  EXPECT_TRUE(w.exited(0)) << w.describe();
  EXPECT_TRUE(mux->wait_event("context_ready", 5s));
  EXPECT_TRUE(fault::named(mux->events(), "fault").empty());
  EXPECT_TRUE(fault::named(mux->events(), "child_exit").empty()) << "the context lives on";
}

TEST_F(Misbehaviour, APathReachesAGrandchildAndNotItsParent) {
  start({"--context-behave", "hop/leaf=malformed-log"});
  finished w = call("hop/leaf", 5, wev);
  ASSERT_TRUE(w.exited(0)) << w.describe();
  auto faults = fault::named(mux->events(), "fault");
  ASSERT_EQ(faults.size(), 1u) << mux->stderr_text();
  EXPECT_EQ(faults[0].value("spec", ""), "malformed-log");
  // The record is refused where it lands: hop, the leaf's parent, logs it,
  // and its log line reaches the mux.
  EXPECT_TRUE(mux_log("dropping a malformed FORWARD_LOG record")) << mux->stderr_text();
}

TEST_F(Misbehaviour, BadBehaviourExitsTwoNamingIt) {
  start();
  finished f = fault::run_faultmux(dir, {"mux", "--context-behave", "x=sulk"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("--context-behave \"sulk\": no behaviour \"sulk\""));
  f = fault::run_faultmux(dir, {"mux", "--context-behave", "linger"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("expected NAME=BEHAVIOUR"));
}

}  // namespace
}  // namespace faultmux::test
