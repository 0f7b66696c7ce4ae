// The shim's connection view on real processes: faultmux_shim_probe serves
// one client process per peer name (each started with FAULTMUX_PEER), so a
// rule can name a call by its peer, its phase and its number on that
// connection, and a traced call can be hit again by exactly those fields.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/shim_fixture.hpp"

namespace faultmux::faults {
namespace {

class ShimPeer : public Shim {
 protected:
  // The probe as a server with FAULTMUX_ROLE=mux; its clients are role
  // worker, index 1, 2, ... in the order of `names`.
  result peers(const std::string& rules, const std::vector<std::string>& names, int rounds = 2) {
    std::vector<std::string> args = {"peers", dir.path(), std::to_string(rounds)};
    args.insert(args.end(), names.begin(), names.end());
    return probe_run(args, rules, {"FAULTMUX_ROLE=mux"});
  }
};

std::vector<json> of_role(const std::vector<json>& evs, const std::string& role) {
  std::vector<json> out;
  for (const json& e : evs) {
    if (e["role"] == role) out.push_back(e);
  }
  return out;
}

// "peer phase conn_n" of each event, the fields a call is addressed by.
std::vector<std::string> points(const std::vector<json>& evs) {
  std::vector<std::string> out;
  for (const json& e : evs) {
    out.push_back(e["peer"].get<std::string>() + " " + e["phase"].get<std::string>() + " " +
                  (e.contains("conn_n") ? std::to_string(e["conn_n"].get<int>()) : "none"));
  }
  return out;
}

int client_pid(const std::string& out, const std::string& name) {
  for (const std::string& l : split_lines(out)) {
    if (l.starts_with("client " + name + " pid=")) return std::stoi(l.substr(l.find("pid=") + 4));
  }
  return -1;
}

int client_pid_of_context(const std::string& out, const std::string& name) {
  for (const std::string& l : split_lines(out)) {
    if (l.starts_with("context " + name + " pid=")) return std::stoi(l.substr(l.find("pid=") + 4));
  }
  return -1;
}

// The rule that addresses exactly the call a fault line describes.
std::string rule_for(const json& e, const std::string& effect) {
  std::string r = e["call"].get<std::string>() + "@" + e["fd_class"].get<std::string>() +
                  " peer=" + e["peer"].get<std::string>();
  if (e["phase"] != "-") r += " phase=" + e["phase"].get<std::string>();
  r += " #" + std::to_string(e["conn_n"].get<int>()) + " per-fd";
  r += " role=" + e["role"].get<std::string>() + ":" + std::to_string(e["index"].get<int>());
  return r + " -> " + effect;
}

TEST_F(ShimPeer, PeerIsTheFaultmuxPeerOfTheProcessAtTheOtherEnd) {
  result r = peers("recv@accepted -> trace; recv@connecting -> trace", {"good:1", "-", "bad:7"}, 1);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  auto evs = events(log);
  auto mux = of_role(evs, "mux");
  EXPECT_THAT(points(mux), ElementsAre("good:1 handshake 1", "good:1 stream 1", "? handshake 1",
                                       "? stream 1", "bad:7 handshake 1", "bad:7 stream 1"));
  // The pid is known even where the name is not (no FAULTMUX_PEER).
  const std::string names[] = {"good:1", "-", "bad:7"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(mux[2 * i]["peer_pid"], client_pid(r.out, names[i])) << names[i];
    EXPECT_EQ(mux[2 * i + 1]["peer_pid"], client_pid(r.out, names[i])) << names[i];
  }
  // A client's peer is the listener, the server's process.
  auto workers = of_role(evs, "worker");
  ASSERT_EQ(workers.size(), 6u);
  for (const json& e : workers) {
    EXPECT_EQ(e["peer"], "listener");
    EXPECT_EQ(e["peer_pid"], mux[0]["pid"]);
    EXPECT_EQ(e["fd_class"], "connecting");
  }
}

TEST_F(ShimPeer, PhaseIsHandshakeUntilTheFirstAnsweredExchange) {
  // Only recv is addressed: the sends that end the handshake pass
  // unaddressed and still move the phase on.
  result r = peers("recv -> trace", {"good:1"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  auto evs = events(log);
  EXPECT_THAT(points(of_role(evs, "mux")),
              ElementsAre("good:1 handshake 1", "good:1 stream 1", "good:1 stream 2"));
  EXPECT_THAT(points(of_role(evs, "worker")),
              ElementsAre("listener handshake 1", "listener stream 1", "listener stream 2"));

  // The server's answering send is the last call of its handshake; the
  // client's hello comes before it is answered.
  std::filesystem::remove(log);
  r = peers("send -> trace", {"good:1"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  evs = events(log);
  EXPECT_THAT(points(of_role(evs, "mux")),
              ElementsAre("good:1 handshake 1", "good:1 stream 1", "good:1 stream 2"));
  EXPECT_THAT(points(of_role(evs, "worker")),
              ElementsAre("listener handshake 1", "listener stream 1", "listener stream 2"));
}

TEST_F(ShimPeer, PhaseSelectorCountsCallsOfThatPhaseOnly) {
  result r = peers("recv@accepted phase=stream #1 per-fd -> EAGAIN", {"good:1", "good:2"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  for (const std::string name : {"good:1", "good:2"}) {
    EXPECT_THAT(calls(r.out, "server " + name + " recv"),
                ElementsAre("call=1 ret=5 data=hello", "call=2 ret=-1 errno=EAGAIN",
                            "call=3 ret=8 data=ping0001", "call=4 ret=8 data=ping0002"))
        << name;
  }
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0]["n"], 1);
  EXPECT_EQ(evs[0]["phase"], "stream");
  EXPECT_EQ(evs[0]["conn_n"], 1);
}

// The harness's listener probe runs as peer "probe": a per-fd rule aimed at
// the workers leaves it alone (or "listener alive" would judge the rule), and
// only a rule that names it with peer=probe faults it.
TEST_F(ShimPeer, ARuleSkipsTheProbeUnlessItNamesIt) {
  const auto first_recvs = [&](const result& r, const std::string& name) {
    auto all = calls(r.out, "server " + name + " recv");
    return all.empty() ? std::string() : all.front();
  };
  result plain = peers("recv@accepted #1 per-fd -> EAGAIN", {"good:1", "probe"});
  ASSERT_EQ(plain.status, 0) << plain.err << plain.out;
  EXPECT_EQ(first_recvs(plain, "good:1"), "call=1 ret=-1 errno=EAGAIN");
  EXPECT_EQ(first_recvs(plain, "probe"), "call=1 ret=5 data=hello");
  for (const json& e : events(log)) EXPECT_NE(e["peer"], "probe") << e.dump();

  result named = peers("recv@accepted peer=probe #1 per-fd -> EAGAIN", {"good:1", "probe"});
  ASSERT_EQ(named.status, 0) << named.err << named.out;
  EXPECT_EQ(first_recvs(named, "good:1"), "call=1 ret=5 data=hello");
  EXPECT_EQ(first_recvs(named, "probe"), "call=1 ret=-1 errno=EAGAIN");
}

TEST_F(ShimPeer, ASelectorThatDoesNotPassDoesNotCount) {
  // Counted per process: were good:1's recvs counted, #2 would be its own.
  result r = peers("recv@accepted peer=good:2 #2 -> EAGAIN", {"good:1", "good:2", "good:3"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "server good:1 recv"),
              testing::Not(testing::Contains(HasSubstr("errno"))));
  EXPECT_EQ(calls(r.out, "server good:2 recv")[1], "call=2 ret=-1 errno=EAGAIN");
  EXPECT_THAT(calls(r.out, "server good:3 recv"),
              testing::Not(testing::Contains(HasSubstr("errno"))));
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["peer"], "good:2");
  EXPECT_EQ(evs[0]["n"], 2);

  // The stream recvs, in order: good:1 ping1, ping2, then good:2 ping1.
  std::filesystem::remove(log);
  r = peers("recv@accepted phase=stream #3 -> EIO", {"good:1", "good:2"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "server good:2 recv"),
              ElementsAre("call=1 ret=5 data=hello", "call=2 ret=-1 errno=EIO",
                          "call=3 ret=8 data=ping0001", "call=4 ret=8 data=ping0002"));
  EXPECT_THAT(calls(r.out, "server good:1 recv"),
              testing::Not(testing::Contains(HasSubstr("errno"))));

  // A group: every good:* but not bad:1.
  std::filesystem::remove(log);
  r = peers("send@accepted peer=good:* phase=handshake #1 per-fd -> EPIPE",
            {"good:1", "bad:1", "good:2"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_EQ(first_call(r.out, "server good:1 send"), "call=1 ret=-1 errno=EPIPE");
  EXPECT_EQ(first_call(r.out, "server good:2 send"), "call=1 ret=-1 errno=EPIPE");
  EXPECT_EQ(first_call(r.out, "server bad:1 send"), "call=1 ret=7 data=welcome");
  EXPECT_THAT(points(events(log)), ElementsAre("good:1 handshake 1", "good:2 handshake 1"));
}

TEST_F(ShimPeer, AReusedFdNumberGetsItsNewPeer) {
  result r = peers("recv@accepted peer=bad:1 #1 per-fd -> EAGAIN; recv@accepted -> trace",
                   {"good:1", "bad:1"}, 1);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  // The probe closes each accepted socket before the next accept, so the
  // second gets the same number (whatever the first was).
  std::vector<std::string> fds;
  for (const std::string& l : split_lines(r.out)) {
    if (l.starts_with("server ") && l.find(" fd=") != l.npos)
      fds.push_back(l.substr(l.find("fd=")));
  }
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(fds[0], fds[1]);
  auto evs = events(log);
  EXPECT_THAT(points(evs), ElementsAre("good:1 handshake 1", "good:1 stream 1", "bad:1 handshake 1",
                                       "bad:1 handshake 2", "bad:1 stream 1"));
  EXPECT_EQ(evs[2]["effect"], "EAGAIN");
  EXPECT_EQ(evs[2]["fd"], evs[0]["fd"]);
  EXPECT_NE(evs[2]["peer_pid"], evs[0]["peer_pid"]);
  EXPECT_EQ(first_call(r.out, "server bad:1 recv"), "call=1 ret=-1 errno=EAGAIN");
  EXPECT_EQ(first_call(r.out, "server good:1 recv"), "call=1 ret=5 data=hello");
}

TEST_F(ShimPeer, ATracedCallIsHitAgainByItsPeerPhaseAndNumber) {
  const std::vector<std::string> names = {"good:1", "-", "good:2"};
  result traced = peers(
      "recv-like@any per-fd -> trace; send-like@any per-fd -> trace; accept-like -> trace; "
      "connect -> trace",
      names);
  ASSERT_EQ(traced.status, 0) << traced.err << traced.out;
  auto trace = events(log);
  // Per client: accept, connect, and 3 recvs and 3 sends on each side.
  ASSERT_EQ(trace.size(), 3u * 14);
  for (const json& t : trace) {
    std::string rule = rule_for(t, "EINTR");
    SCOPED_TRACE(rule);
    std::filesystem::remove(log);
    result hit = peers(rule, names);
    ASSERT_EQ(hit.status, 0) << hit.err << hit.out;
    auto evs = events(log);
    ASSERT_EQ(evs.size(), 1u);
    for (const char* field : {"call", "fd_class", "peer", "phase", "conn_n", "role", "index"})
      EXPECT_EQ(evs[0][field], t[field]) << field;
    EXPECT_EQ(evs[0]["effect"], "EINTR");
    auto failed = split_lines(hit.out);
    EXPECT_EQ(std::count_if(failed.begin(), failed.end(),
                            [](const std::string& l) { return l.find("errno=EINTR") != l.npos; }),
              1);
  }

  // One by hand: the second stream recv from good:2 is the server's third recv.
  std::filesystem::remove(log);
  result r = peers("recv@accepted peer=good:2 phase=stream #2 per-fd -> ECONNRESET", names);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "server good:2 recv"),
              ElementsAre("call=1 ret=5 data=hello", "call=2 ret=8 data=ping0001",
                          "call=3 ret=-1 errno=ECONNRESET", "call=4 ret=8 data=ping0002"));
}

TEST_F(ShimPeer, PerFdOnAnyLeavesUntrackedFdsToEveryCallRules) {
  // The pipe's read is call 0 of this per-fd rule: `every 2` must not hit it.
  result r = probe_run({"pipe", dir.path()}, "read@any every 2 per-fd -> EAGAIN");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_EQ(first_call(r.out, "pipe read"), "call=1 ret=6 data=abcdef");
  EXPECT_TRUE(events(log).empty()) << "nothing fired";
  // An every-call rule still sees every fd, with phase "-" and no conn_n on the pipe.
  std::filesystem::remove(log);
  r = probe_run({"pipe", dir.path()}, "read@any per-fd -> trace");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  auto evs = events(log);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs[0]["fd_class"], "other");
  EXPECT_EQ(evs[0]["phase"], "-");
  EXPECT_EQ(evs[0]["peer"], "?");
  EXPECT_FALSE(evs[0].contains("conn_n"));
  EXPECT_EQ(evs[0]["n"], 0);
}

// A channel (a socketpair end) is named by the process at its other end:
// the parent's end by the child that holds the other one, read from its
// command line as a faultmux context ("context:NAME"); the child's end by
// the parent that made the pair (its FAULTMUX_ROLE, "mux"). The child is a
// context itself: role context, self context:NAME.
TEST_F(ShimPeer, AChannelIsNamedByTheContextAtItsOtherEnd) {
  result r = probe_run({"channels", dir.path(), "1", "a", "b"},
                       "recv-like@channel per-fd -> trace; send-like@channel per-fd -> trace",
                       {"FAULTMUX_ROLE=mux"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  auto evs = events(log);
  auto mux = of_role(evs, "mux");
  // Per context: the server's recv and send of the hello and one round.
  EXPECT_THAT(points(mux),
              ElementsAre("context:a stream 1", "context:a stream 1", "context:a stream 2",
                          "context:a stream 2", "context:b stream 1", "context:b stream 1",
                          "context:b stream 2", "context:b stream 2"));
  for (const json& e : mux) {
    EXPECT_EQ(e["fd_class"], "channel");
    EXPECT_FALSE(e.contains("self"));
  }
  EXPECT_EQ(mux[0]["peer_pid"], client_pid_of_context(r.out, "a"));
  EXPECT_EQ(mux[4]["peer_pid"], client_pid_of_context(r.out, "b"));
  auto contexts = of_role(evs, "context");
  ASSERT_EQ(contexts.size(), 8u);
  for (const json& e : contexts) {
    EXPECT_EQ(e["fd_class"], "channel");
    EXPECT_EQ(e["fd"], 3);
    EXPECT_EQ(e["peer"], "mux");
    EXPECT_EQ(e["peer_pid"], mux[0]["pid"]);
    EXPECT_EQ(e["phase"], "stream");
  }
  EXPECT_EQ(contexts[0]["self"], "context:a");
  EXPECT_EQ(contexts[7]["self"], "context:b");
}

TEST_F(ShimPeer, AChannelRuleFaultsOnlyThatContextsChannel) {
  result r = probe_run({"channels", dir.path(), "2", "a", "b", "c"},
                       "recv@channel peer=context:b #1 -> EIO", {"FAULTMUX_ROLE=mux"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_EQ(first_call(r.out, "server b recv"), "call=1 ret=-1 errno=EIO");
  for (const std::string name : {"a", "c"})
    EXPECT_THAT(calls(r.out, "server " + name + " recv"),
                testing::Not(testing::Contains(HasSubstr("errno"))))
        << name;
  // The contexts' own recvs have the mux as their peer: not addressed.
  for (const std::string name : {"a", "b", "c"})
    EXPECT_THAT(calls(r.out, "client " + name + " recv"),
                testing::Not(testing::Contains(HasSubstr("errno"))))
        << name;
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["peer"], "context:b");
  EXPECT_EQ(evs[0]["fd_class"], "channel");

  // A context's own call, by self= and its peer.
  std::filesystem::remove(log);
  r = probe_run({"channels", dir.path(), "2", "a", "b"},
                "send@channel self=context:a peer=mux phase=stream #2 per-fd -> EPIPE",
                {"FAULTMUX_ROLE=mux"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_THAT(calls(r.out, "client a send"),
              ElementsAre("call=1 ret=5 data=hello", "call=2 ret=-1 errno=EPIPE",
                          "call=3 ret=8 data=ping0001", "call=4 ret=8 data=ping0002"));
  EXPECT_THAT(calls(r.out, "client b send"), testing::Not(testing::Contains(HasSubstr("errno"))));
  EXPECT_THAT(calls(r.out, "server a send"), testing::Not(testing::Contains(HasSubstr("errno"))));
  evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["role"], "context");
  EXPECT_EQ(evs[0]["self"], "context:a");
}

TEST_F(ShimPeer, AChildThatHasNotExecdYetIsNamedOnALaterCall) {
  result r = probe_run({"late-exec", dir.path(), "late"}, "send-like@channel -> trace",
                       {"FAULTMUX_ROLE=mux"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  auto mux = of_role(events(log), "mux");
  // The welcome went while the child was a copy of the parent: no name, and
  // none remembered; the pongs went once it was the context "late".
  EXPECT_THAT(points(mux),
              ElementsAre("? stream 1", "context:late stream 2", "context:late stream 3"));
}

}  // namespace
}  // namespace faultmux::faults
