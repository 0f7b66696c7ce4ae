// The syscall shim on real programs: faultmux_shim_probe (known socket and
// pipe calls, one output line per call) and /usr/bin/python3, run under
// LD_PRELOAD. Each rule kind must fire exactly where it is addressed and
// nowhere else, decisions must follow the seed, and a bad rule must stop the
// program before it runs.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "faults/decide.hpp"
#include "faults/rules.hpp"
#include "tests/support/run_dir.hpp"

extern char** environ;

namespace faultmux::faults {
namespace {

using json = nlohmann::json;
using testing::ElementsAre;
using testing::HasSubstr;

const char* const shim = FAULTMUX_SHIM;
const char* const probe = FAULTMUX_SHIM_PROBE;
const char* const python = "/usr/bin/python3";

struct result {
  int status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

// Runs a program to completion (killed after 60 s) with the test's
// environment minus any FAULTMUX_* and LD_PRELOAD, plus `env`.
result run(const test::run_dir& dir, const std::vector<std::string>& argv,
           const std::vector<std::string>& env, bool preload = true) {
  static int serial = 0;
  std::string out_path = dir.file("out." + std::to_string(++serial));
  std::string err_path = dir.file("err." + std::to_string(serial));
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.starts_with("FAULTMUX_") || v.starts_with("LD_PRELOAD=")) continue;
    envs.emplace_back(v);
  }
  if (preload) envs.push_back(std::string("LD_PRELOAD=") + shim);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> argp, envp;
  for (const auto& a : argv) argp.push_back(const_cast<char*>(a.c_str()));
  argp.push_back(nullptr);
  for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&fa, dir.path().c_str());
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argp[0], &fa, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  result r;
  if (rc != 0) {
    r.err = "posix_spawn failed";
    return r;
  }
  int status = 0;
  for (int waited_ms = 0;; waited_ms += 10) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (waited_ms >= 60'000) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::usleep(10'000);
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = test::slurp(out_path);
  r.err = test::slurp(err_path);
  return r;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The probe's lines for one side and call, without the timing:
// "call=2 ret=-1 errno=EAGAIN".
std::vector<std::string> calls(const std::string& out, const std::string& prefix) {
  std::vector<std::string> v;
  for (std::string l : split_lines(out)) {
    if (!l.starts_with(prefix + " call=")) continue;
    l = l.substr(prefix.size() + 1);
    if (auto ms = l.find(" ms="); ms != std::string::npos) l.erase(ms);
    v.push_back(l);
  }
  return v;
}

std::string first_call(const std::string& out, const std::string& prefix) {
  auto v = calls(out, prefix);
  return v.empty() ? "" : v.front();
}

std::string without_timing(const std::string& out) {
  std::string s;
  for (std::string l : split_lines(out)) {
    if (auto ms = l.find(" ms="); ms != std::string::npos) l.erase(ms);
    s += l + "\n";
  }
  return s;
}

double call_ms(const std::string& out, const std::string& prefix, int call_no) {
  std::string key = prefix + " call=" + std::to_string(call_no) + " ";
  for (const std::string& l : split_lines(out)) {
    if (l.starts_with(key)) return std::stod(l.substr(l.find(" ms=") + 4));
  }
  return -1;
}

std::vector<json> events(const std::string& path) {
  std::vector<json> v;
  for (const std::string& l : split_lines(test::slurp(path))) v.push_back(json::parse(l));
  return v;
}

// What was decided, without when and in which pid: equal across runs.
std::vector<std::string> decisions(const std::vector<json>& evs) {
  std::vector<std::string> v;
  for (json e : evs) {
    e.erase("t");
    e.erase("pid");
    v.push_back(e.dump());
  }
  return v;
}

class Shim : public testing::Test {
 protected:
  test::run_dir dir;
  std::string log = dir.file("faults.jsonl");

  result probe_run(std::vector<std::string> args, const std::string& rules,
                   std::vector<std::string> env = {}) {
    args.insert(args.begin(), probe);
    env.push_back("FAULTMUX_FAULTS=" + rules);
    env.push_back("FAULTMUX_FAULT_LOG=" + log);
    return run(dir, args, env);
  }
  result stream(const std::string& rules, const std::string& recv_kind = "recv",
                const std::string& send_kind = "send", int rounds = 3) {
    return probe_run({"stream", dir.path(), std::to_string(rounds), recv_kind, send_kind}, rules);
  }
};

TEST_F(Shim, NoRulesNoEffect) {
  std::vector<std::string> args = {probe, "stream", dir.path(), "3", "recv", "send"};
  result plain = run(dir, args, {}, false);
  ASSERT_EQ(plain.status, 0) << plain.err;
  for (const std::string& rules : {std::string(""), std::string(" ; # nothing\n")}) {
    result shimmed = run(dir, args, {"FAULTMUX_FAULTS=" + rules, "FAULTMUX_FAULT_LOG=" + log});
    EXPECT_EQ(shimmed.status, 0) << shimmed.err;
    EXPECT_EQ(without_timing(shimmed.out), without_timing(plain.out));
    EXPECT_EQ(shimmed.err, "");
  }
  EXPECT_FALSE(std::ifstream(log).good()) << "no rules: the log is not even opened";
  // CPython starts and runs normally under the inert shim.
  result py = run(dir, {python, "-c", "import socket; print(sum(range(10)))"}, {});
  EXPECT_EQ(py.status, 0) << py.err;
  EXPECT_EQ(py.out, "45\n");
}

TEST_F(Shim, EagainOnSecondRecvOfAcceptedSocketsOnly) {
  result r = stream("recv@accepted#2 -> EAGAIN");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "server recv"),
              ElementsAre("call=1 ret=8 data=ping0001", "call=2 ret=-1 errno=EAGAIN",
                          "call=3 ret=8 data=ping0002", "call=4 ret=8 data=ping0003"));
  // The connecting side's recvs and every send are untouched.
  EXPECT_THAT(calls(r.out, "client recv"),
              ElementsAre("call=1 ret=8 data=pong0001", "call=2 ret=8 data=pong0002",
                          "call=3 ret=8 data=pong0003"));
  EXPECT_THAT(calls(r.out, "server send"), testing::Each(HasSubstr("ret=8")));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["event"], "fault");
  EXPECT_EQ(evs[0]["call"], "recv");
  EXPECT_EQ(evs[0]["fd_class"], "accepted");
  EXPECT_EQ(evs[0]["rule"], 1);
  EXPECT_EQ(evs[0]["rule_text"], "recv@accepted#2 -> EAGAIN");
  EXPECT_EQ(evs[0]["n"], 2);
  EXPECT_EQ(evs[0]["effect"], "EAGAIN");
  EXPECT_EQ(evs[0]["role"], "");
  EXPECT_EQ(evs[0]["index"], 0);
  EXPECT_GT(evs[0]["t"].get<double>(), 0.0);
  EXPECT_GT(evs[0]["pid"].get<int>(), 0);
}

TEST_F(Shim, EachRecvLikeCallIsAddressedByName) {
  for (std::string kind : {"recv", "recvfrom", "recvmsg", "read", "readv"}) {
    SCOPED_TRACE(kind);
    std::filesystem::remove(log);
    // A rule for another recv-like call must not fire on this one.
    std::string other = kind == "read" ? "recv" : "read";
    result r =
        stream(kind + "@accepted#2 -> ECONNRESET; " + other + "@accepted -> EIO", kind, "send", 2);
    ASSERT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_THAT(calls(r.out, "server " + kind),
                ElementsAre("call=1 ret=8 data=ping0001", "call=2 ret=-1 errno=ECONNRESET",
                            "call=3 ret=8 data=ping0002"));
    auto evs = events(log);
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(evs[0]["call"], kind);
  }
}

TEST_F(Shim, EachSendLikeCallIsAddressedByName) {
  for (std::string kind : {"send", "sendto", "sendmsg", "write", "writev"}) {
    SCOPED_TRACE(kind);
    std::filesystem::remove(log);
    result r =
        stream(kind + "@connecting#1 -> ENOBUFS; send-like@accepted#2 -> EINTR", "recv", kind, 2);
    ASSERT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_THAT(calls(r.out, "client " + kind),
                ElementsAre("call=1 ret=-1 errno=ENOBUFS", "call=2 ret=8 data=ping0001",
                            "call=3 ret=8 data=ping0002"));
    EXPECT_THAT(calls(r.out, "server " + kind),
                ElementsAre("call=1 ret=8 data=pong0001", "call=2 ret=-1 errno=EINTR",
                            "call=3 ret=8 data=pong0002"));
    auto evs = events(log);
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(evs[0]["fd_class"], "connecting");
    EXPECT_EQ(evs[1]["fd_class"], "accepted");
    EXPECT_EQ(evs[1]["rule"], 2);
  }
}

TEST_F(Shim, RangesAndEveryKthCall) {
  result r = stream("recv@accepted#2..3 -> EINTR", "recv", "send", 2);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(calls(r.out, "server recv"),
              ElementsAre("call=1 ret=8 data=ping0001", "call=2 ret=-1 errno=EINTR",
                          "call=3 ret=-1 errno=EINTR", "call=4 ret=8 data=ping0002"));

  std::filesystem::remove(log);
  r = stream("send@accepted every 3 -> short 1", "recv", "send", 4);
  ASSERT_EQ(r.status, 0) << r.err;
  // Calls 3 and 6 of the server's sends carry one byte; the rest follows.
  EXPECT_THAT(
      calls(r.out, "server send"),
      ElementsAre("call=1 ret=8 data=pong0001", "call=2 ret=8 data=pong0002", "call=3 ret=1 data=p",
                  "call=4 ret=7 data=ong0003", "call=5 ret=8 data=pong0004"));
  EXPECT_THAT(split_lines(r.out), testing::Contains("client got pong0003"));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["n"], 3);
  EXPECT_EQ(evs[0]["effect"], "short 1");
  EXPECT_EQ(evs[0]["ret"], 1);
}

TEST_F(Shim, ConnectAndAcceptFail) {
  result r =
      stream("connect#1 -> ECONNREFUSED; accept4@listener#1 -> ECONNABORTED", "recv", "send", 1);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(calls(r.out, "client connect"),
              ElementsAre("call=1 ret=-1 errno=ECONNREFUSED", "call=2 ret=0"));
  EXPECT_THAT(calls(r.out, "server accept4"),
              ElementsAre("call=1 ret=-1 errno=ECONNABORTED", "call=2 ret=0"));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0]["call"], "connect");
  EXPECT_EQ(evs[0]["fd_class"], "connecting");
  EXPECT_EQ(evs[1]["call"], "accept4");
  EXPECT_EQ(evs[1]["fd_class"], "listener");

  // accept and accept4 are different calls; accept-like names both.
  result a = probe_run({"accepts", dir.path(), "2", "accept"}, "accept4 -> EMFILE");
  EXPECT_THAT(calls(a.out, "server accept"), ElementsAre("call=1 ret=0", "call=2 ret=0"));
  a = probe_run({"accepts", dir.path(), "2", "accept"}, "accept-like#2 -> EMFILE");
  EXPECT_THAT(calls(a.out, "server accept"),
              ElementsAre("call=1 ret=0", "call=2 ret=-1 errno=EMFILE", "call=3 ret=0"));
}

TEST_F(Shim, DelayOnlyWhereAddressed) {
  result r = stream("recv@accepted#2 -> delay 300ms", "recv", "send", 3);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GE(call_ms(r.out, "server recv", 2), 290.0);
  EXPECT_LT(call_ms(r.out, "server recv", 1), 150.0);
  EXPECT_LT(call_ms(r.out, "server recv", 3), 150.0);
  EXPECT_LT(call_ms(r.out, "client recv", 2), 150.0);
  EXPECT_THAT(calls(r.out, "server recv"), testing::Each(HasSubstr("ret=8")));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["effect"], "delay 300ms");
}

TEST_F(Shim, ShortAndFlipAcrossIovecs) {
  result r =
      stream("writev@accepted#1 -> short 3; sendmsg@connecting#1 -> short 5", "readv", "writev", 1);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(calls(r.out, "server writev"),
              ElementsAre("call=1 ret=3 data=pon", "call=2 ret=5 data=g0001"));
  EXPECT_THAT(split_lines(r.out), testing::Contains("client got pong0001"));

  r = stream("sendmsg@connecting#1 -> short 5; recvmsg@accepted#2 -> flip 5", "recvmsg", "sendmsg",
             2);
  ASSERT_EQ(r.status, 0) << r.err;
  // Five bytes span both iovecs of the probe's sendmsg (4 + 4).
  EXPECT_THAT(calls(r.out, "client sendmsg"),
              ElementsAre("call=1 ret=5 data=ping0", "call=2 ret=3 data=001",
                          "call=3 ret=8 data=ping0002"));
  // The probe's recvmsg reads into two iovecs; offset 5 is in the second.
  EXPECT_THAT(split_lines(r.out), testing::Contains("server got ping0001"));
  EXPECT_THAT(split_lines(r.out), testing::Contains("server got ping0\\xcf02"));
}

TEST_F(Shim, FlipAndBytewise) {
  // A flipped send goes out up to and including the flipped byte.
  result r = stream("send@connecting#1 -> flip 3", "recv", "send", 1);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(calls(r.out, "client send"),
              ElementsAre("call=1 ret=4 data=ping", "call=2 ret=4 data=0001"));
  EXPECT_THAT(split_lines(r.out), testing::Contains("server got pin\\x980001"));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["offset"], 3);

  std::filesystem::remove(log);
  r = stream("recv@accepted#1 -> flip 0", "recv", "send", 2);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(split_lines(r.out), testing::Contains("server got \\x8fing0001"));
  EXPECT_THAT(split_lines(r.out), testing::Contains("server got ping0002"));

  // bytewise: a recv gets one byte; a send is made byte by byte underneath
  // and looks whole to the caller.
  std::filesystem::remove(log);
  r = stream("recv@accepted#1 -> bytewise; send@connecting#2 -> bytewise", "recv", "send", 2);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(calls(r.out, "server recv"),
              ElementsAre("call=1 ret=1 data=p", "call=2 ret=7 data=ing0001",
                          "call=3 ret=8 data=ping0002"));
  EXPECT_THAT(calls(r.out, "client send"),
              ElementsAre("call=1 ret=8 data=ping0001", "call=2 ret=8 data=ping0002"));
  evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1]["effect"], "bytewise");
  EXPECT_EQ(evs[1]["ret"], 8);
}

TEST_F(Shim, OtherFdsArePipesNotSockets) {
  // write@other hits the pipe, not the sockets written with write later.
  result r = probe_run({"pipe", dir.path()}, "write@other#1 -> flip 0; read@other#2 -> EIO");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(calls(r.out, "pipe write"),
              ElementsAre("call=1 ret=1 data=a", "call=2 ret=5 data=bcdef"));
  EXPECT_THAT(calls(r.out, "pipe read"), ElementsAre("call=1 ret=6 data=\\x9ebcdef"));
  EXPECT_THAT(calls(r.out, "client write"), ElementsAre("call=1 ret=8 data=ping0001"));
  EXPECT_THAT(calls(r.out, "server read"), ElementsAre("call=1 ret=8 data=ping0001"));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u) << "read@other#2: the pipe is read once, sockets are not other";
  EXPECT_EQ(evs[0]["fd_class"], "other");

  // And the reverse: rules on sockets leave the pipe alone.
  std::filesystem::remove(log);
  r = probe_run({"pipe", dir.path()}, "write@connecting#1 -> EPIPE; read@accepted#1 -> EIO");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(calls(r.out, "pipe write"), ElementsAre("call=1 ret=6 data=abcdef"));
  EXPECT_THAT(calls(r.out, "client write"),
              ElementsAre("call=1 ret=-1 errno=EPIPE", "call=2 ret=8 data=ping0001"));
  EXPECT_THAT(calls(r.out, "server read"),
              ElementsAre("call=1 ret=-1 errno=EIO", "call=2 ret=8 data=ping0001"));
}

TEST_F(Shim, RoleAndIndexRestrictRules) {
  std::string rules = "recv@accepted#1 role=mux:1 -> EAGAIN; send@connecting#1 role=worker -> EIO";
  std::vector<std::string> args = {"stream", dir.path(), "1", "recv", "send"};
  result r = probe_run(args, rules, {"FAULTMUX_ROLE=mux"});
  EXPECT_EQ(test::slurp(log), "") << "index 0 is not 1";
  EXPECT_EQ(first_call(r.out, "server recv"), "call=1 ret=8 data=ping0001");
  r = probe_run(args, rules, {"FAULTMUX_ROLE=mux", "FAULTMUX_INDEX=1"});
  EXPECT_EQ(first_call(r.out, "server recv"), "call=1 ret=-1 errno=EAGAIN");
  EXPECT_EQ(first_call(r.out, "client send"), "call=1 ret=8 data=ping0001");
  r = probe_run(args, rules, {"FAULTMUX_ROLE=worker", "FAULTMUX_INDEX=1"});
  EXPECT_EQ(first_call(r.out, "server recv"), "call=1 ret=8 data=ping0001");
  EXPECT_EQ(first_call(r.out, "client send"), "call=1 ret=-1 errno=EIO");
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0]["role"], "mux");
  EXPECT_EQ(evs[0]["index"], 1);
  EXPECT_EQ(evs[1]["role"], "worker");
}

// The EMFILE pattern of p=0.5 accepts, as the shim's log records it.
std::string accept_pattern(const std::vector<json>& evs, int calls_made) {
  std::string s(static_cast<std::size_t>(calls_made), '0');
  for (const json& e : evs) s[e["n"].get<std::size_t>() - 1] = '1';
  return s;
}

TEST_F(Shim, SameSeedSameDecisionsDifferentSeedDifferent) {
  const std::string rules = "accept p=0.5 -> EMFILE";
  std::vector<std::string> args = {"accepts", dir.path(), "24", "accept"};
  std::vector<std::vector<std::string>> runs;
  std::vector<std::string> outputs;
  for (const char* seed : {"7", "7", "8"}) {
    std::filesystem::remove(log);
    result r = probe_run(args, rules, {std::string("FAULTMUX_SEED=") + seed});
    ASSERT_EQ(r.status, 0) << r.err;
    runs.push_back(decisions(events(log)));
    outputs.push_back(without_timing(r.out));
  }
  EXPECT_FALSE(runs[0].empty());
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_NE(runs[0], runs[2]);
  EXPECT_NE(outputs[0], outputs[2]);

  // And the decisions are the documented hash of (seed, role, index, rule,
  // call number): the pattern can be predicted without running anything.
  std::filesystem::remove(log);
  result r = probe_run(args, rules, {"FAULTMUX_SEED=7"});
  int calls_made = static_cast<int>(calls(r.out, "server accept").size());
  rule parsed;
  ASSERT_FALSE(parse_rule(rules, parsed));
  std::string predicted;
  for (int n = 1; n <= calls_made; ++n) {
    predicted += fires(parsed, process_stream(7, "", 0), 0, n) ? '1' : '0';
  }
  EXPECT_EQ(accept_pattern(events(log), calls_made), predicted);
  EXPECT_EQ(calls_made - static_cast<int>(events(log).size()), 24) << "every connection accepted";
}

TEST_F(Shim, ForkedChildrenGetTheirOwnReproducibleDecisions) {
  const std::string rules = "send@other p=0.5 -> EAGAIN";
  auto per_process = [&](const std::vector<json>& evs) {
    std::map<int, std::string> m;  // index -> pattern over 32 sends
    for (const json& e : evs) {
      std::string& p = m[e["index"].get<int>()];
      if (p.empty()) p = std::string(32, '0');
      p[e["n"].get<std::size_t>() - 1] = '1';
    }
    return m;
  };
  std::vector<std::map<int, std::string>> runs;
  std::vector<std::set<int>> pids;
  for (int i = 0; i < 2; ++i) {
    std::filesystem::remove(log);
    result r = probe_run({"fork", dir.path(), "32"}, rules, {"FAULTMUX_SEED=11"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto evs = events(log);
    runs.push_back(per_process(evs));
    std::set<int> p;
    for (const json& e : evs) p.insert(e["pid"].get<int>());
    pids.push_back(p);
    // The probe saw exactly the faults the log records, per process.
    for (auto [who, index] : {std::pair{"parent", 0}, {"child1", 1}, {"child2", 2}}) {
      std::string seen;
      for (const std::string& c : calls(r.out, std::string(who) + " send")) {
        seen += c.find("errno=EAGAIN") != std::string::npos ? '1' : '0';
      }
      EXPECT_EQ(seen, runs.back()[index]) << who;
    }
  }
  ASSERT_EQ(runs[0].size(), 3u) << "parent, child 1 and child 2 each had faults";
  EXPECT_EQ(pids[0].size(), 3u);
  EXPECT_EQ(runs[0], runs[1]) << "the same seed gives every process the same decisions";
  EXPECT_NE(runs[0][0], runs[0][1]);
  EXPECT_NE(runs[0][0], runs[0][2]);
  EXPECT_NE(runs[0][1], runs[0][2]);
  // Each child's stream is derived from its parent's and its fork ordinal.
  rule parsed;
  ASSERT_FALSE(parse_rule(rules, parsed));
  std::uint64_t parent = process_stream(11, "", 0);
  auto predict = [&](std::uint64_t stream) {
    std::string s;
    for (int n = 1; n <= 32; ++n) s += fires(parsed, stream, 0, n) ? '1' : '0';
    return s;
  };
  EXPECT_EQ(runs[0][0], predict(parent));
  EXPECT_EQ(runs[0][1], predict(child_stream(parent, 1)));
  EXPECT_EQ(runs[0][2], predict(child_stream(parent, 2)));
}

TEST_F(Shim, ManyThreads) {
  result r = probe_run({"threads", dir.path(), "8", "200"},
                       "recv@other every 7 -> EINTR; send@other every 5 -> EAGAIN");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  auto evs = events(log);
  std::string last = split_lines(r.out).back();
  EXPECT_EQ(last, "threads failures=0 errors_seen=" + std::to_string(evs.size()));
  // 8 threads x 200 rounds x 2 directions = 3200 sends must succeed, and
  // every 5th send counted across all threads fails and is retried.
  int sends = 0;
  for (const json& e : evs) sends += e["call"] == "send" ? 1 : 0;
  int failed = 0;
  for (int n = 1, ok = 0; ok < 3200; ++n) (n % 5 == 0 ? failed : ok) += 1;
  EXPECT_EQ(sends, failed);
}

TEST_F(Shim, RulesFromAFile) {
  std::ofstream(dir.file("rules.txt")) << "# faults for the server side\n"
                                          "recv@accepted#1 -> EINTR\n"
                                          "\n"
                                          "send@accepted#1 -> ECONNRESET; send@accepted#2 -> "
                                          "EPIPE\n";
  result r = run(dir, {probe, "stream", dir.path(), "2", "recv", "send"},
                 {"FAULTMUX_FAULTS_FILE=" + dir.file("rules.txt"), "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_call(r.out, "server recv"), "call=1 ret=-1 errno=EINTR");
  EXPECT_THAT(calls(r.out, "server send"),
              ElementsAre("call=1 ret=-1 errno=ECONNRESET", "call=2 ret=-1 errno=EPIPE",
                          "call=3 ret=8 data=pong0001", "call=4 ret=8 data=pong0002"));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[2]["rule"], 3);
  EXPECT_EQ(evs[2]["rule_text"], "send@accepted#2 -> EPIPE");
}

TEST_F(Shim, BadRuleStopsTheProgramBeforeItRuns) {
  std::vector<std::string> args = {probe, "stream", dir.path(), "1", "recv", "send"};
  result r =
      run(dir, args, {"FAULTMUX_FAULTS=recv@accepted#1 -> EAGAIN; recv@acepted#1 -> EAGAIN"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "") << "the program must not have run";
  EXPECT_THAT(r.err, HasSubstr("bad fault rule 2 in FAULTMUX_FAULTS, column 6: expected an fd "
                               "class"));
  EXPECT_THAT(r.err, HasSubstr("  recv@acepted#1 -> EAGAIN\n       ^\n"));

  std::ofstream(dir.file("bad.txt")) << "recv#1 -> EIO\nsend -> short\n";
  r = run(dir, args, {"FAULTMUX_FAULTS_FILE=" + dir.file("bad.txt")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err,
              HasSubstr("bad fault rule 2 in " + dir.file("bad.txt") + " line 2, column 14"));

  r = run(dir, args, {"FAULTMUX_FAULTS_FILE=" + dir.file("missing.txt")});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read FAULTMUX_FAULTS_FILE " + dir.file("missing.txt")));

  r = run(dir, args, {"FAULTMUX_FAULTS=recv -> EIO", "FAULTMUX_SEED=12x"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("FAULTMUX_SEED must be an unsigned integer"));

  r = run(dir, args, {"FAULTMUX_FAULTS=recv -> EIO", "FAULTMUX_FAULT_LOG=/nonexistent/dir/log"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot open FAULTMUX_FAULT_LOG /nonexistent/dir/log"));

  // CPython is stopped the same way, before any Python code runs.
  r = run(dir, {python, "-c", "print('ran')"}, {"FAULTMUX_FAULTS=accept p=2 -> EMFILE"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("column 10: a probability must be > 0 and <= 1"));
}

// CPython: socket.accept is accept4, recv/recv_into are recv, send/sendall
// are send, os.read/os.write are read/write, os.dup is fcntl(F_DUPFD_CLOEXEC).
const char* const python_stream = R"PY(
import errno, os, signal, socket, sys
signal.alarm(20)  # a missed fault must fail the test, not hang it
path = os.path.join(sys.argv[1], 'py.sock')
lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lst.bind(path)
lst.listen(4)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.connect(path)
def attempt(what, fn):
    try:
        r = fn()
        print(what, 'ok', r if isinstance(r, bytes) else '')
        return r
    except OSError as e:
        print(what, errno.errorcode[e.errno])
attempt('accept', lst.accept)
srv, _ = lst.accept()
for i in range(3):
    cli.sendall(b'ping%d' % i)
    if attempt('server recv', lambda: srv.recv(5)) is None:
        attempt('server recv', lambda: srv.recv(5))
    srv.sendall(b'pong%d' % i)
    attempt('client recv', lambda: cli.recv(5))
dup = os.dup(srv.fileno())
cli.sendall(b'abc')
attempt('dup read', lambda: os.read(dup, 3))
attempt('dup read', lambda: os.read(dup, 3))
os.close(dup)
srv.close(); cli.close(); lst.close()
os.unlink(path)
)PY";

TEST_F(Shim, CPythonSocketsAreFaultedWhereAddressed) {
  std::ofstream(dir.file("stream.py")) << python_stream;
  result r = run(dir, {python, dir.file("stream.py"), dir.path()},
                 {"FAULTMUX_FAULTS=accept4@listener#1 -> EMFILE; recv@accepted#2 -> EAGAIN; "
                  "read@accepted#1 -> ECONNRESET",
                  "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "accept EMFILE\n"
            "server recv ok b'ping0'\n"
            "client recv ok b'pong0'\n"
            "server recv EAGAIN\n"
            "server recv ok b'ping1'\n"
            "client recv ok b'pong1'\n"
            "server recv ok b'ping2'\n"
            "client recv ok b'pong2'\n"
            "dup read ECONNRESET\n"
            "dup read ok b'abc'\n");
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0]["call"], "accept4");
  EXPECT_EQ(evs[1]["call"], "recv");
  EXPECT_EQ(evs[2]["call"], "read");
  EXPECT_EQ(evs[2]["fd_class"], "accepted") << "os.dup keeps the class of the accepted socket";
}

// Programs that close every fd (daemons, child setup) must not silence the
// log: close() on it is refused as EBADF, close_range is survived by reopening.
const char* const python_closer = R"PY(
import os, signal, socket, sys
signal.alarm(20)
log = sys.argv[1]
mine = [int(f) for f in os.listdir('/proc/self/fd')
        if os.path.realpath('/proc/self/fd/' + f) == os.path.realpath(log)]
a, b = socket.socketpair()
a.send(b'1')
try:
    os.close(mine[0])
    print('closed the log fd')
except OSError as e:
    print('close:', os.strerror(e.errno))
a.detach()
b.detach()
os.closerange(3, 65536)
print('log fd open:', os.path.exists('/proc/self/fd/%d' % mine[0]))
a, b = socket.socketpair()
a.send(b'2')
)PY";

TEST_F(Shim, TheLogSurvivesProgramsClosingEveryFd) {
  std::ofstream(dir.file("closer.py")) << python_closer;
  result r = run(dir, {python, dir.file("closer.py"), log},
                 {"FAULTMUX_FAULTS=send@other -> trace", "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "close: Bad file descriptor\n"
            "log fd open: False\n");
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1]["n"], 2);
}

// A child started with subprocess (fork/vfork + exec) reads the environment
// afresh: its own role, its own counters.
const char* const python_exec = R"PY(
import os, signal, socket, subprocess, sys
signal.alarm(20)
child = r'''
import errno, socket
a, b = socket.socketpair()
for i in range(2):
    try:
        a.send(b'x')
        print('child send ok')
    except OSError as e:
        print('child send', errno.errorcode[e.errno])
'''
a, b = socket.socketpair()
a.send(b'x')
print('parent send ok')
env = dict(os.environ, FAULTMUX_ROLE='context')
out = subprocess.run([sys.executable, '-c', child], env=env, capture_output=True, text=True)
sys.stdout.write(out.stdout + out.stderr)
try:
    a.send(b'y')
    print('parent send ok')
except OSError as e:
    print('parent send', os.strerror(e.errno))
)PY";

TEST_F(Shim, ExecedChildrenReadTheirOwnEnvironment) {
  std::ofstream(dir.file("exec.py")) << python_exec;
  result r = run(dir, {python, dir.file("exec.py")},
                 {"FAULTMUX_FAULTS=send@other#1 role=context -> EPIPE; send@other#2 role=mux -> "
                  "EIO",
                  "FAULTMUX_ROLE=mux", "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "parent send ok\n"
            "child send EPIPE\n"
            "child send ok\n"
            "parent send Input/output error\n");
  // The child's sends did not advance the parent's count, nor the reverse.
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0]["role"], "context");
  EXPECT_EQ(evs[0]["n"], 1);
  EXPECT_EQ(evs[1]["role"], "mux");
  EXPECT_EQ(evs[1]["n"], 2);
}

// A real Mitogen 0.3.3 router and unix listener (scenarios/mitogen_mux.py)
// and a real Mitogen client, both under the shim.
const char* const mitogen_client = R"PY(
import signal, sys
signal.alarm(20)
import mitogen.master, mitogen.unix
broker = mitogen.master.Broker()
try:
    router, parent = mitogen.unix.connect(sys.argv[1], broker=broker)
    print('connected')
except Exception as e:
    # A dropped handshake surfaces as ConnectError or as a short identity.
    print('connect error')
finally:
    broker.shutdown()
    broker.join()
)PY";

bool have_mitogen(const test::run_dir& dir) {
  return run(dir, {python, "-c", "import mitogen.unix"}, {}, false).status == 0;
}

// Starts the Mitogen mux under the shim, runs the client, waits (up to 2 s)
// for `wait_for` to appear in the log, stops the mux. Returns the client's
// output.
std::string mitogen_round(const test::run_dir& dir, const std::string& rules,
                          const std::string& log, const std::string& wait_for = "") {
  std::string sock = dir.file("mitogen.sock");
  std::string mux_out = dir.file("mux.out");
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (!v.starts_with("FAULTMUX_") && !v.starts_with("LD_PRELOAD=")) envs.emplace_back(v);
  }
  envs.push_back(std::string("LD_PRELOAD=") + shim);
  envs.push_back("FAULTMUX_FAULTS=" + rules);
  envs.push_back("FAULTMUX_FAULT_LOG=" + log);
  envs.push_back("FAULTMUX_ROLE=mux");
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string script = std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/mitogen_mux.py";
  std::string listen = "--listen";
  std::vector<char*> argv = {const_cast<char*>(python), script.data(), listen.data(), sock.data(),
                             nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, mux_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (mux_out + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t mux = -1;
  int rc = posix_spawn(&mux, python, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return "spawn failed";
  for (int i = 0; i < 1000 && test::slurp(mux_out).find("listening") == std::string::npos; ++i) {
    ::usleep(10'000);
  }
  std::ofstream(dir.file("client.py")) << mitogen_client;
  result client =
      run(dir, {python, dir.file("client.py"), sock},
          {"FAULTMUX_FAULTS=" + rules, "FAULTMUX_FAULT_LOG=" + log, "FAULTMUX_ROLE=context"});
  for (int i = 0; i < 200 && test::slurp(log).find(wait_for) == std::string::npos; ++i) {
    ::usleep(10'000);
  }
  ::kill(mux, SIGTERM);
  int status = 0;
  for (int i = 0; i < 500 && ::waitpid(mux, &status, WNOHANG) != mux; ++i) ::usleep(10'000);
  if (::waitpid(mux, &status, WNOHANG) == 0) {
    ::kill(mux, SIGKILL);
    ::waitpid(mux, &status, 0);
  }
  return client.out;
}

TEST_F(Shim, RealMitogenListenerAndClient) {
  ASSERT_TRUE(have_mitogen(dir)) << "python3-mitogen is not installed: run tools/install-deps";
  // trace changes nothing: it shows which calls Mitogen makes, on which fds.
  std::string out = mitogen_round(dir,
                                  "accept-like -> trace; connect -> trace; "
                                  "recv-like@accepted role=mux -> trace; "
                                  "send-like@accepted role=mux -> trace; "
                                  "recv-like@connecting role=context -> trace; "
                                  "send-like@connecting role=context -> trace",
                                  log, R"("role":"mux","index":0,"event":"fault","call":"read")");
  EXPECT_EQ(out, "connected\n");
  std::set<std::string> seen;
  for (const json& e : events(log)) {
    seen.insert(e["role"].get<std::string>() + " " + e["call"].get<std::string>() + "@" +
                e["fd_class"].get<std::string>());
  }
  // The listener accepts with accept4, reads the client's pid with recv and
  // answers with send, then streams with os.read/os.write (read/write).
  EXPECT_THAT(
      seen, testing::IsSupersetOf({"mux accept4@listener", "mux recv@accepted", "mux send@accepted",
                                   "mux read@accepted", "context connect@connecting",
                                   "context send@connecting", "context recv@connecting"}));

  // A reset while the listener reads the client's identity costs that
  // client its connection; the fault is logged where it happened.
  std::filesystem::remove(log);
  out = mitogen_round(dir, "recv@accepted#1 role=mux -> ECONNRESET", log);
  EXPECT_EQ(out, "connect error\n");
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["role"], "mux");
  EXPECT_EQ(evs[0]["call"], "recv");
  EXPECT_THAT(test::slurp(dir.file("mux.out.err")),
              HasSubstr("listener: failed to read remote identity"));
}

}  // namespace
}  // namespace faultmux::faults
