// The syscall shim on real programs: faultmux_shim_probe (known socket and
// pipe calls, one output line per call) and /usr/bin/python3, run under
// LD_PRELOAD. Each rule kind must fire exactly where it is addressed and
// nowhere else, decisions must follow the seed, and a bad rule must stop the
// program before it runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/shim_fixture.hpp"

namespace faultmux::faults {
namespace {

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
  const std::string rules = "send@channel p=0.5 -> EAGAIN";
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

// A child start as the mux makes one (socketpair, fork, execve in the
// child) fails at the call numbered: socketpair by its count, fork by its
// number, and an exec by the number of the fork whose child makes it, so
// `execve #3` is the exec after `fork #3` whatever failed before.
TEST_F(Shim, ChildStartCallsFailWhereNumbered) {
  result r = probe_run({"starts", dir.path(), "5"},
                       "socketpair #2 -> EMFILE; fork #2 -> EAGAIN; execve #3 -> ENOENT");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "parent socketpair"),
              ElementsAre("call=1 ret=0", "call=2 ret=-1 errno=EMFILE", "call=3 ret=0",
                          "call=4 ret=0", "call=5 ret=0"));
  EXPECT_THAT(calls(r.out, "parent fork"), ElementsAre("call=1 ret=0", "call=2 ret=-1 errno=EAGAIN",
                                                       "call=3 ret=0", "call=4 ret=0"));
  EXPECT_THAT(calls(r.out, "parent execve"),
              ElementsAre("call=1 ret=0", "call=3 ret=-1 errno=ENOENT", "call=4 ret=0"));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 3u);
  const int parent = evs[0]["pid"].get<int>();
  for (auto [i, call, n, effect] : {std::tuple{0, "socketpair", 2, "EMFILE"},
                                    {1, "fork", 2, "EAGAIN"},
                                    {2, "execve", 3, "ENOENT"}}) {
    SCOPED_TRACE(call);
    const json& e = evs[static_cast<std::size_t>(i)];
    EXPECT_EQ(e["call"], call);
    EXPECT_EQ(e["n"], n);
    EXPECT_EQ(e["effect"], effect);
    EXPECT_EQ(e["rule"], i + 1);
    // No fd: no class, peer or phase either.
    EXPECT_FALSE(e.contains("fd") || e.contains("fd_class") || e.contains("peer") ||
                 e.contains("phase"))
        << e.dump();
  }
  EXPECT_EQ(evs[1]["pid"], parent) << "the fork fails in the parent, forking nothing";
  EXPECT_NE(evs[2]["pid"], parent) << "the exec fails in the child";
  EXPECT_EQ(evs[2]["index"], 3) << "the child of fork 3";
}

// kill() fails by its number in the process, the others go through (a
// child that ignores SIGCONT takes them); a rule for another role is quiet.
TEST_F(Shim, KillFailsWhereNumbered) {
  result r = probe_run({"kills", dir.path(), "3"}, "kill #2 -> EPERM");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "parent kill"),
              ElementsAre("call=1 ret=0", "call=2 ret=-1 errno=EPERM", "call=3 ret=0"));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["call"], "kill");
  EXPECT_EQ(evs[0]["n"], 2);
  r = probe_run({"kills", dir.path(), "3"}, "kill role=mux -> EPERM");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "parent kill"), testing::Each(HasSubstr("ret=0")));
}

// Rules a process does not load, numbers never reached and trace rules
// leave every start whole; trace logs each call with its number.
TEST_F(Shim, ChildStartRulesAreQuietWhereNotAddressed) {
  const std::vector<std::string> args = {"starts", dir.path(), "3"};
  auto all_whole = [](const result& r) {
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_THAT(calls(r.out, "parent socketpair"), testing::Each(HasSubstr("ret=0")));
    EXPECT_THAT(calls(r.out, "parent fork"),
                ElementsAre("call=1 ret=0", "call=2 ret=0", "call=3 ret=0"));
    EXPECT_THAT(calls(r.out, "parent execve"),
                ElementsAre("call=1 ret=0", "call=2 ret=0", "call=3 ret=0"));
  };
  all_whole(probe_run(
      args, "socketpair role=mux -> EMFILE; fork role=mux -> EAGAIN; execve role=mux -> ENOENT",
      {"FAULTMUX_ROLE=worker"}));
  all_whole(probe_run(args, "socketpair #4 -> EMFILE; fork #4.. -> EAGAIN; execve #4 -> ENOENT"));
  EXPECT_EQ(test::slurp(log), "") << "nothing fired";
  all_whole(probe_run(args, "socketpair -> trace; fork -> trace; execve -> trace"));
  std::map<std::string, std::vector<int>> numbers;
  for (const json& e : events(log)) numbers[e["call"]].push_back(e["n"].get<int>());
  EXPECT_THAT(numbers["socketpair"], ElementsAre(1, 2, 3));
  EXPECT_THAT(numbers["fork"], ElementsAre(1, 2, 3));
  EXPECT_THAT(numbers["execve"], ElementsAre(1, 2, 3));
}

// An exec is decided as the process that forked would decide it: its
// role=NAME:INDEX is that process's index, p= its stream with the fork's
// number. An exec in no fork child is call 0: only a rule without '#' or
// 'every' hits it.
TEST_F(Shim, AnExecIsDecidedAsItsForkInTheParent) {
  result r = probe_run({"starts", dir.path(), "2"}, "execve role=mux:0 #2 -> EACCES",
                       {"FAULTMUX_ROLE=mux"});
  EXPECT_THAT(calls(r.out, "parent execve"),
              ElementsAre("call=1 ret=0", "call=2 ret=-1 errno=EACCES"));

  std::filesystem::remove(log);
  const std::string rules = "execve p=0.5 -> ENOENT";
  r = probe_run({"starts", dir.path(), "16"}, rules, {"FAULTMUX_SEED=7"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string seen, predicted;
  for (const std::string& c : calls(r.out, "parent execve"))
    seen += c.find("errno=ENOENT") != std::string::npos ? '1' : '0';
  rule parsed;
  ASSERT_FALSE(parse_rule(rules, parsed));
  for (int n = 1; n <= 16; ++n)
    predicted += fires(parsed, process_stream(7, "", 0), 0, n) ? '1' : '0';
  EXPECT_EQ(seen, predicted);
  EXPECT_NE(seen.find('1'), std::string::npos);
  EXPECT_NE(seen.find('0'), std::string::npos);

  r = probe_run({"exec-self", dir.path()}, "execve #1.. -> ENOENT");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  r = probe_run({"exec-self", dir.path()}, "execve -> ENOENT");
  EXPECT_EQ(r.status, 3);
  EXPECT_THAT(calls(r.out, "self execve"), ElementsAre("call=1 ret=-1 errno=ENOENT"));
}

TEST_F(Shim, ManyThreads) {
  result r = probe_run({"threads", dir.path(), "8", "200"},
                       "recv@channel every 7 -> EINTR; send@channel every 5 -> EAGAIN");
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

}  // namespace
}  // namespace faultmux::faults
