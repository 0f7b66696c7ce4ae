// The scenario loader: a good file loads with every field; each kind of bad
// input is refused with FILE:LINE:COLUMN and what was expected.
#include "harness/scenario.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "roles/process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

const char* good = R"(name = "exit-after-pid"
description = "a worker exits right after sending its pid"
origin = "Mitogen 870bbe0e"
seed = 7
timeout_ms = 20000
catches = ["epipe-crash"]
contexts = ["A"]

[target]
backlog = 16
max_message_size = 1048576
unidirectional = true

[[workers]]
name = "servers"
workload = "serve"

[[workers]]
name = "good"
count = 50
workload = "echo"
peer = "servers"
messages = 100
size = 4096
in_flight = 4

[[workers]]
name = "callers"
workload = "calls"
connect_timeout_ms = 1500
backlog_wait_ms = 0
context = "A"
function = "checksum"
messages = 10

[[workers]]
name = "bad"
workload = "hostile"
behave = "exit-after-pid"

[[faults]]
kind = "syscall"
rule = "recv@accepted#1 -> EAGAIN"

[[faults]]
kind = "signal"
signal = "SIGSTOP"
before_workers = true
resume_after_ms = 500

[[faults]]
kind = "nofile"
limit = 32
at_ms = 100
restore_after_ms = 200

[expect]
errors = [{ pattern = "failed to assign identity", min = 1, max = 1 }]
allowed_errors = ["EOF"]
disconnected_groups = ["bad"]
max_rss_mib = 64
)";

// Loads `text` and returns the error message ("" when it loads).
std::string error_of(const std::string& text) {
  try {
    parse_scenario(text, "s.toml");
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "";
}

// `good` with the first `from` replaced by `to`.
std::string with(const std::string& from, const std::string& to) {
  std::string s = good;
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(Scenario, GoodFileLoadsEveryField) {
  scenario s = parse_scenario(good, "s.toml");
  EXPECT_EQ(s.name, "exit-after-pid");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.timeout_ms, 20000);
  ASSERT_EQ(s.catches.size(), 1u);
  EXPECT_EQ(s.catches[0], "epipe-crash");
  EXPECT_EQ(s.target.backlog, 16);
  EXPECT_TRUE(s.target.unidirectional);
  EXPECT_EQ(s.target.max_message_size, 1048576u);
  ASSERT_EQ(s.workers.size(), 4u);
  EXPECT_EQ(s.workers[1].workload, worker_group::workload_t::echo);
  EXPECT_EQ(s.workers[1].count, 50);
  EXPECT_EQ(s.workers[1].in_flight, 4);
  EXPECT_EQ(s.workers[2].function, "checksum");
  EXPECT_EQ(s.workers[2].connect_timeout_ms, 1500);
  EXPECT_EQ(s.workers[2].backlog_wait_ms, 0);
  EXPECT_EQ(s.workers[1].backlog_wait_ms, -1);
  EXPECT_EQ(s.workers[3].behave, "exit-after-pid");
  EXPECT_EQ(s.worker_count(), 53);
  ASSERT_EQ(s.faults.size(), 3u);
  EXPECT_EQ(s.faults[0].rule, "recv@accepted#1 -> EAGAIN");
  EXPECT_TRUE(s.faults[1].before_workers);
  EXPECT_EQ(s.faults[1].resume_after_ms, 500);
  EXPECT_EQ(s.faults[2].limit, 32);
  ASSERT_EQ(s.expect.errors.size(), 1u);
  EXPECT_EQ(s.expect.errors[0].max, 1);
  EXPECT_EQ(s.expect.max_rss_mib, 64);
  EXPECT_TRUE(s.expect.nothing_lost);
}

TEST(Scenario, TomlSyntaxErrorHasLineAndColumn) {
  std::string e = error_of(with("seed = 7", "seed = = 7"));
  EXPECT_EQ(e.rfind("s.toml:4:", 0), 0u) << e;
}

TEST(Scenario, UnknownKeyNamesItAndTheExpectedKeys) {
  std::string e = error_of(with("count = 50", "forkz = 50"));
  EXPECT_EQ(e.rfind("s.toml:20:1: unknown key 'forkz' in [[workers]]", 0), 0u) << e;
  EXPECT_NE(e.find("expected one of: name, count"), std::string::npos) << e;
  EXPECT_EQ(error_of(with("seed = 7", "sead = 7"))
                .rfind("s.toml:4:1: unknown key 'sead' in the scenario", 0),
            0u);
  EXPECT_NE(
      error_of(with("max_rss_mib = 64", "max_rss = 64")).find("unknown key 'max_rss' in [expect]"),
      std::string::npos);
}

TEST(Scenario, WrongTypesSayWhatWasExpected) {
  std::string e = error_of(with("count = 50", "count = \"50\""));
  EXPECT_EQ(e, "s.toml:20:9: 'count' in [[workers]] must be an integer, not a string");
  e = error_of(with("unidirectional = true", "unidirectional = 1"));
  EXPECT_EQ(e, "s.toml:12:18: 'unidirectional' in [target] must be true or false, not an integer");
  e = error_of(with("catches = [\"epipe-crash\"]", "catches = \"epipe-crash\""));
  EXPECT_NE(e.find("'catches' in the scenario must be an array of strings, not a string"),
            std::string::npos)
      << e;
}

TEST(Scenario, OutOfRangeValuesAreRefused) {
  EXPECT_NE(error_of(with("count = 50", "count = 0"))
                .find("'count' in [[workers]] must be 1..10000, got 0"),
            std::string::npos);
  EXPECT_NE(error_of(with("backlog = 16", "backlog = -1")).find("must be 0..65535"),
            std::string::npos);
  EXPECT_NE(error_of(with("timeout_ms = 20000", "timeout_ms = 5")).find("must be 100..3600000"),
            std::string::npos);
}

TEST(Scenario, RequiredFieldsAreNamed) {
  EXPECT_NE(
      error_of(with("origin = \"Mitogen 870bbe0e\"\n", "")).find("the scenario needs 'origin'"),
      std::string::npos);
  EXPECT_NE(error_of(with("name = \"servers\"\n", "")).find("[[workers]] needs 'name'"),
            std::string::npos);
}

TEST(Scenario, ImpossibleCombinationsAreRefused) {
  EXPECT_NE(error_of(with("peer = \"servers\"\n", ""))
                .find("group 'good' with workload echo needs 'peer'"),
            std::string::npos);
  EXPECT_NE(error_of(with("peer = \"servers\"", "peer = \"callers\""))
                .find("peer 'callers' of group 'good' must name a group whose workload is serve"),
            std::string::npos);
  EXPECT_NE(error_of(with("context = \"A\"\n", "")).find("needs 'context'"), std::string::npos);
  EXPECT_NE(error_of(with("behave = \"exit-after-pid\"\n", "")).find("needs 'behave'"),
            std::string::npos);
  EXPECT_NE(error_of(with("name = \"good\"", "name = \"servers\""))
                .find("a second worker group named 'servers'"),
            std::string::npos);
  EXPECT_NE(error_of(with("disconnected_groups = [\"bad\"]", "disconnected_groups = [\"nobody\"]"))
                .find("names 'nobody', which is not a worker group"),
            std::string::npos);
  EXPECT_NE(error_of(with("limit = 32", "limit = 32\nsignal = \"SIGKILL\""))
                .find("'signal' belongs to a signal fault"),
            std::string::npos);
  EXPECT_NE(error_of(with("min = 1, max = 1", "min = 3, max = 1")).find("max (1) is below min (3)"),
            std::string::npos);
  EXPECT_NE(error_of(with("backlog = 16", "backlog = 16\ncommand = [\"x\"]"))
                .find("belong to an external [target]"),
            std::string::npos);
  EXPECT_NE(error_of(with("backlog = 16", "kind = \"external\""))
                .find("an external [target] needs 'command'"),
            std::string::npos);
}

TEST(Scenario, FaultRulesAndPatternsAreChecked) {
  std::string e = error_of(with("recv@accepted#1 -> EAGAIN", "recv@acepted#1 -> EAGAIN"));
  EXPECT_NE(e.find("bad syscall rule: column 6"), std::string::npos) << e;
  e = error_of(with("signal = \"SIGSTOP\"", "signal = \"SIGSTOPP\""));
  EXPECT_NE(e.find("signal must be SIGKILL, SIGTERM, SIGSTOP, SIGCONT, SIGINT, SIGHUP"),
            std::string::npos)
      << e;
  e = error_of(with("pattern = \"failed to assign identity\"", "pattern = \"failed (to\""));
  EXPECT_NE(e.find("is not a valid regular expression"), std::string::npos) << e;
  e = error_of(with("kind = \"syscall\"", "kind = \"syscal\""));
  EXPECT_NE(e.find("fault kind must be syscall, signal, nofile or context, got \"syscal\""),
            std::string::npos)
      << e;
}

// Calls into contexts: relayed calls, context faults by path, call outcome
// and warning-level expectations.
const char* calls_good = R"(name = "calls"
description = "contexts and calls"
origin = "Mitogen #76, #352"

[[workers]]
name = "victims"
workload = "calls"
context = "hop/leaf"
relay_to = "other"
function = "caller_ids"
messages = 3

[[faults]]
kind = "context"
context = "hop/leaf"
fault_at = "mid-call:SIGKILL"
victim = "parent"

[expect]
errors = [{ pattern = "refused", level = "warning" }]
calls = [{ group = "victims", outcome = "disconnected", reason = "respondent", within_ms = 500 }]
)";

std::string calls_error_of(const std::string& from, const std::string& to) {
  std::string s = calls_good;
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return error_of(s.replace(at, from.size(), to));
}

TEST(Scenario, CallsContextFaultsAndCallExpectationsLoad) {
  scenario s = parse_scenario(calls_good, "s.toml");
  ASSERT_EQ(s.workers.size(), 1u);
  EXPECT_EQ(s.workers[0].relay_to, "other");
  EXPECT_EQ(s.workers[0].function, "caller_ids");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].kind, fault_spec::kind_t::context);
  EXPECT_EQ(s.faults[0].context, "hop/leaf");
  EXPECT_EQ(s.faults[0].fault_at, "mid-call:SIGKILL");
  EXPECT_EQ(s.faults[0].victim, "parent");
  ASSERT_EQ(s.expect.errors.size(), 1u);
  EXPECT_EQ(s.expect.errors[0].level, "warning");
  ASSERT_EQ(s.expect.calls.size(), 1u);
  EXPECT_EQ(s.expect.calls[0].group, "victims");
  EXPECT_EQ(s.expect.calls[0].outcome, "disconnected");
  EXPECT_EQ(s.expect.calls[0].reason, "respondent");
  EXPECT_EQ(s.expect.calls[0].within_ms, 500);
  EXPECT_EQ(parse_scenario(good, "s.toml").expect.errors[0].level, "error");
}

TEST(Scenario, AMisbehavingContextLoadsInCanonicalForm) {
  const std::string phase = "fault_at = \"mid-call:SIGKILL\"\nvictim = \"parent\"";
  std::string text = calls_good;
  text.replace(text.find(phase), phase.size(), "behave = \"stderr-without-newline pipe=8192\"");
  scenario s = parse_scenario(text, "s.toml");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].behave, "stderr-without-newline:1048576 pipe=8192");
  EXPECT_TRUE(s.faults[0].fault_at.empty());
  // Each wrong form says what is wrong, where.
  EXPECT_NE(calls_error_of(phase, "behave = \"sulk\"")
                .find("s.toml:16:10: behave \"sulk\": no behaviour \"sulk\""),
            std::string::npos);
  EXPECT_NE(calls_error_of(phase, "behave = \"linger\"\nfault_at = \"mid-call:SIGKILL\"")
                .find("either 'fault_at' or 'behave', not both"),
            std::string::npos);
  EXPECT_NE(calls_error_of(phase, "behave = \"linger\"\nvictim = \"parent\"")
                .find("'victim' belongs to a 'fault_at' fault"),
            std::string::npos);
  EXPECT_NE(calls_error_of(phase, "").find("needs 'fault_at' (a phase fault) or 'behave'"),
            std::string::npos);
  EXPECT_NE(calls_error_of("kind = \"context\"\ncontext = \"hop/leaf\"\n" + phase,
                           "kind = \"nofile\"\nlimit = 9\nbehave = \"linger\"")
                .find("'behave' belongs to a context fault"),
            std::string::npos);
}

TEST(Scenario, CallsContextFaultsAndCallExpectationsAreChecked) {
  // Unknown values.
  EXPECT_EQ(calls_error_of("outcome = \"disconnected\"", "outcome = \"lost\""),
            "s.toml:21:41: outcome must be result, call_error, disconnected or timeout, got "
            "\"lost\"");
  EXPECT_EQ(calls_error_of("victim = \"parent\"", "victim = \"child\""),
            "s.toml:17:10: victim must be \"self\" or \"parent\" (the context that started it), "
            "got \"child\"");
  EXPECT_NE(calls_error_of("level = \"warning\"", "level = \"info\"")
                .find("s.toml:20:42: level must be \"error\" or \"warning\""),
            std::string::npos);
  EXPECT_NE(calls_error_of("fault_at = \"mid-call:SIGKILL\"", "fault_at = \"pid-sent:SIGKILL\"")
                .find("s.toml:16:12: a context's fault_at must be mid-call:SIGKILL"),
            std::string::npos);
  EXPECT_NE(calls_error_of("function = \"caller_ids\"", "function = \"whoami\"")
                .find("function must be echo, checksum, make_bytes, getpid, sleep or caller_ids"),
            std::string::npos);
  EXPECT_NE(calls_error_of("context = \"hop/leaf\"\nfault_at", "context = \"hop//leaf\"\nfault_at")
                .find("context must be a ContextService name or path"),
            std::string::npos);
  // Wrong types.
  EXPECT_EQ(calls_error_of("within_ms = 500", "within_ms = \"500\""),
            "s.toml:21:92: 'within_ms' in an [expect] calls entry must be an integer, not a "
            "string");
  EXPECT_EQ(calls_error_of("relay_to = \"other\"", "relay_to = 2"),
            "s.toml:9:12: 'relay_to' in [[workers]] must be a string, not an integer");
  EXPECT_NE(calls_error_of("calls = [{", "calls = 3 #").find("'calls' must be an array of tables"),
            std::string::npos);
  EXPECT_NE(calls_error_of("reason = \"respondent\"", "reason = \"(\"")
                .find("reason \"(\" is not a valid regular expression"),
            std::string::npos);
  // Impossible combinations.
  EXPECT_NE(calls_error_of("group = \"victims\"", "group = \"nobody\"")
                .find("calls names group 'nobody', which is not a worker group"),
            std::string::npos);
  EXPECT_NE(calls_error_of("relay_to = \"other\"", "relay_to = \"hop/leaf\"")
                .find("relay_to \"hop/leaf\" is the called context itself"),
            std::string::npos);
  EXPECT_NE(calls_error_of("victim = \"parent\"", "victim = \"parent\"\nat_ms = 5")
                .find("'at_ms' belongs to signal and nofile faults"),
            std::string::npos);
  EXPECT_NE(calls_error_of("kind = \"context\"", "kind = \"signal\"\nsignal = \"SIGKILL\"")
                .find("'context' belongs to a context fault"),
            std::string::npos);
  EXPECT_NE(
      error_of(with("behave = \"exit-after-pid\"", "behave = \"exit-after-pid\"\nrelay_to = \"A\""))
          .find("cannot have 'relay_to'"),
      std::string::npos);
  EXPECT_NE(error_of(with("disconnected_groups = [\"bad\"]",
                          "disconnected_groups = [\"bad\"]\ncalls = [{ group = \"good\", outcome "
                          "= \"result\" }]"))
                .find("group 'good' is an echo workload: only outcome = \"disconnected\""),
            std::string::npos);
  EXPECT_NE(error_of(with("disconnected_groups = [\"bad\"]",
                          "disconnected_groups = [\"bad\"]\ncalls = [{ group = \"bad\", outcome "
                          "= \"disconnected\" }]"))
                .find("calls names group 'bad', whose workload is hostile, not calls or echo"),
            std::string::npos);
  EXPECT_NE(calls_error_of("within_ms = 500", "within_ms = 500, from_call = 3")
                .find("from_call 3 is past the last of group 'victims''s 3 calls"),
            std::string::npos);
  EXPECT_NE(calls_error_of("within_ms = 500", "within_ms = 500, from_call = 2, to_call = 1")
                .find("to_call (1) is below from_call (2)"),
            std::string::npos);
}

TEST(Scenario, ValidateCommandChecksFilesWithoutRunningThem) {
  test::run_dir dir;
  std::ofstream(dir.file("good.toml")) << good;
  std::ofstream(dir.file("bad.toml")) << with("count = 50", "count = \"50\"");
  auto ok = child_process::spawn({test::binary(), "validate", dir.file("good.toml")}, true);
  auto line = ok.read_line(std::chrono::seconds(10));
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("exit-after-pid"), std::string::npos) << *line;
  auto st = ok.wait(std::chrono::seconds(10));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(describe_status(*st), "exit 0");

  auto bad = child_process::spawn(
      {test::binary(), "validate", dir.file("good.toml"), dir.file("bad.toml")}, true);
  st = bad.wait(std::chrono::seconds(10));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(describe_status(*st), "exit 2");

  auto missing = child_process::spawn({test::binary(), "validate", dir.file("nope.toml")}, true);
  st = missing.wait(std::chrono::seconds(10));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(describe_status(*st), "exit 2");
}

}  // namespace
}  // namespace faultmux
