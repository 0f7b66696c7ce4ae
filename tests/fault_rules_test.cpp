// The shim's rule parser and decision functions, without any interposition:
// every rule kind, every error with its column, and the determinism of the
// seeded decisions.
#include "faults/rules.hpp"

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "faults/decide.hpp"

namespace faultmux::faults {
namespace {

rule parse_ok(const std::string& text) {
  rule r;
  auto err = parse_rule(text, r);
  EXPECT_FALSE(err) << text << ": " << (err ? err->message : "");
  return r;
}

TEST(FaultRules, EveryCallName) {
  const char* names[] = {"accept", "accept4",    "connect", "recv",   "recvfrom", "recvmsg",
                         "read",   "readv",      "send",    "sendto", "sendmsg",  "write",
                         "writev", "socketpair", "fork",    "execve", "kill"};
  static_assert(std::size(names) == call_count);
  for (int i = 0; i < call_count; ++i) {
    rule r = parse_ok(std::string(names[i]) + " -> EIO");
    EXPECT_EQ(r.calls, bit(static_cast<call>(i))) << names[i];
    EXPECT_STREQ(call_name(static_cast<call>(i)), names[i]);
  }
}

TEST(FaultRules, Groups) {
  EXPECT_EQ(parse_ok("accept-like -> EMFILE").calls, bit(call::accept) | bit(call::accept4));
  EXPECT_EQ(parse_ok("recv-like -> EIO").calls, bit(call::recv) | bit(call::recvfrom) |
                                                    bit(call::recvmsg) | bit(call::read) |
                                                    bit(call::readv));
  EXPECT_EQ(parse_ok("send-like -> EIO").calls, bit(call::send) | bit(call::sendto) |
                                                    bit(call::sendmsg) | bit(call::write) |
                                                    bit(call::writev));
}

TEST(FaultRules, FdClasses) {
  EXPECT_EQ(parse_ok("recv -> EIO").cls, fd_class::any);
  EXPECT_EQ(parse_ok("recv@any -> EIO").cls, fd_class::any);
  EXPECT_EQ(parse_ok("accept@listener -> EIO").cls, fd_class::listener);
  EXPECT_EQ(parse_ok("recv@accepted -> EIO").cls, fd_class::accepted);
  EXPECT_EQ(parse_ok("send@connecting -> EIO").cls, fd_class::connecting);
  EXPECT_EQ(parse_ok("connect@connecting -> EIO").cls, fd_class::connecting);
  EXPECT_EQ(parse_ok("write@other -> EIO").cls, fd_class::other);
  EXPECT_EQ(parse_ok("recv@channel -> EIO").cls, fd_class::channel);
}

TEST(FaultRules, ChannelsAreAddressedByTheirPeerAndHaveOnlyAStreamPhase) {
  rule r = parse_ok("recv@channel peer=context:a #1 -> EIO");
  EXPECT_EQ(r.cls, fd_class::channel);
  EXPECT_EQ(r.peer, "context:a");
  r = parse_ok("send-like@channel self=context:a peer=mux phase=stream #2 per-fd -> EPIPE");
  EXPECT_EQ(r.self, "context:a");
  EXPECT_EQ(r.peer, "mux");
  EXPECT_EQ(r.phase, conn_phase::stream);
  EXPECT_TRUE(r.per_fd);
  EXPECT_EQ(std::string(fd_class_name(fd_class::channel)), "channel");
  rule bad;
  auto err = parse_rule("recv@channel phase=handshake -> EIO", bad);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->column, 14u);
  EXPECT_NE(err->message.find("a channel has no handshake"), std::string::npos) << err->message;
}

TEST(FaultRules, Occurrences) {
  rule r = parse_ok("recv -> EIO");
  EXPECT_EQ(r.occ, occurrence::every_call);

  r = parse_ok("recv@accepted#2 -> EAGAIN");
  EXPECT_EQ(r.occ, occurrence::range);
  EXPECT_EQ(r.first, 2u);
  EXPECT_EQ(r.last, 2u);

  r = parse_ok("recv#2..5 -> EAGAIN");
  EXPECT_EQ(r.first, 2u);
  EXPECT_EQ(r.last, 5u);

  r = parse_ok("recv #3.. -> EAGAIN");
  EXPECT_EQ(r.first, 3u);
  EXPECT_EQ(r.last, open_end);

  r = parse_ok("send@accepted every 3 -> short 1");
  EXPECT_EQ(r.occ, occurrence::every_kth);
  EXPECT_EQ(r.every, 3u);

  r = parse_ok("accept p=0.3 -> EMFILE");
  EXPECT_EQ(r.occ, occurrence::probability);
  EXPECT_DOUBLE_EQ(r.p, 0.3);
  EXPECT_DOUBLE_EQ(parse_ok("accept p = 1 -> EMFILE").p, 1.0);
}

TEST(FaultRules, Roles) {
  rule r = parse_ok("recv -> EIO");
  EXPECT_EQ(r.role, "");
  EXPECT_EQ(r.index, -1);
  r = parse_ok("recv role=mux -> EIO");
  EXPECT_EQ(r.role, "mux");
  EXPECT_EQ(r.index, -1);
  r = parse_ok("recv@accepted #1 role=worker:3 -> EIO");
  EXPECT_EQ(r.role, "worker");
  EXPECT_EQ(r.index, 3);
  EXPECT_EQ(r.first, 1u);
  r = parse_ok("recv role=worker:0 #4 -> EIO");
  EXPECT_EQ(r.index, 0);
  EXPECT_EQ(r.first, 4u);
}

TEST(FaultRules, Errnos) {
  struct {
    const char* name;
    int value;
  } cases[] = {{"EAGAIN", EAGAIN},
               {"EWOULDBLOCK", EWOULDBLOCK},
               {"EINTR", EINTR},
               {"EPIPE", EPIPE},
               {"ECONNRESET", ECONNRESET},
               {"EMFILE", EMFILE},
               {"ENFILE", ENFILE},
               {"ENOBUFS", ENOBUFS},
               {"ECONNABORTED", ECONNABORTED},
               {"EIO", EIO},
               {"ECONNREFUSED", ECONNREFUSED},
               {"ETIMEDOUT", ETIMEDOUT},
               {"ENOMEM", ENOMEM},
               {"ENOTCONN", ENOTCONN},
               {"ENOENT", ENOENT},
               {"EACCES", EACCES},
               {"ENOEXEC", ENOEXEC}};
  for (const auto& c : cases) {
    rule r = parse_ok(std::string("recv -> ") + c.name);
    EXPECT_EQ(r.eff, effect::fail) << c.name;
    EXPECT_EQ(r.err, c.value) << c.name;
  }
  // The same errno on Linux: logged under its first name.
  EXPECT_EQ(effect_text(parse_ok("recv -> EWOULDBLOCK")), "EAGAIN");
}

// socketpair, fork and execve act on no fd: counted per process, selected by
// role= and self= only; an errno, a delay or a trace.
TEST(FaultRules, ProcessCallsTakeProcessSelectorsOnly) {
  rule r = parse_ok("socketpair role=mux #2 -> EMFILE");
  EXPECT_EQ(r.calls, bit(call::socketpair));
  EXPECT_EQ(r.cls, fd_class::any);
  EXPECT_EQ(r.role, "mux");
  EXPECT_EQ(r.first, 2u);
  EXPECT_EQ(r.err, EMFILE);
  r = parse_ok("fork every 2 -> EAGAIN");
  EXPECT_EQ(r.calls, bit(call::fork));
  EXPECT_EQ(r.occ, occurrence::every_kth);
  r = parse_ok("execve self=good:1 p=0.5 -> ENOENT");
  EXPECT_EQ(r.calls, bit(call::execve));
  EXPECT_EQ(r.self, "good:1");
  EXPECT_EQ(r.occ, occurrence::probability);
  EXPECT_EQ(parse_ok("fork #1 -> delay 20ms").eff, effect::delay);
  EXPECT_EQ(parse_ok("execve -> trace").eff, effect::trace);
  EXPECT_EQ(parse_ok("execve role=mux:0 #3.. -> EACCES").err, EACCES);
  r = parse_ok("kill role=mux #1 -> EPERM");
  EXPECT_EQ(r.calls, bit(call::kill));
  EXPECT_EQ(r.err, EPERM);
}

TEST(FaultRules, Effects) {
  rule r = parse_ok("send@accepted every 3 -> short 1");
  EXPECT_EQ(r.eff, effect::shorten);
  EXPECT_EQ(r.amount, 1u);
  EXPECT_EQ(effect_text(r), "short 1");

  r = parse_ok("send -> bytewise");
  EXPECT_EQ(r.eff, effect::bytewise);
  EXPECT_EQ(effect_text(r), "bytewise");

  r = parse_ok("recv@accepted#2..5 -> delay 50ms");
  EXPECT_EQ(r.eff, effect::delay);
  EXPECT_EQ(r.amount, 50'000u);
  EXPECT_EQ(effect_text(r), "delay 50ms");
  EXPECT_EQ(parse_ok("recv -> delay 250us").amount, 250u);
  EXPECT_EQ(effect_text(parse_ok("recv -> delay 250us")), "delay 250us");
  EXPECT_EQ(parse_ok("recv -> delay 2 s").amount, 2'000'000u);
  EXPECT_EQ(effect_text(parse_ok("recv -> delay 2s")), "delay 2s");
  EXPECT_EQ(effect_text(parse_ok("accept -> delay 1500ms")), "delay 1500ms");
  EXPECT_EQ(effect_text(parse_ok("connect -> delay 0us")), "delay 0us");

  r = parse_ok("write@other#1 -> flip 0");
  EXPECT_EQ(r.eff, effect::flip);
  EXPECT_EQ(r.amount, 0u);
  EXPECT_EQ(effect_text(r), "flip 0");
  EXPECT_EQ(parse_ok("read -> flip 4095").amount, 4095u);

  r = parse_ok("accept-like -> trace");
  EXPECT_EQ(r.eff, effect::trace);
  EXPECT_EQ(effect_text(r), "trace");
}

TEST(FaultRules, SpacingIsFree) {
  rule a = parse_ok("recv@accepted#2..5->delay 50ms");
  rule b = parse_ok("  recv@accepted  # 2 .. 5   ->   delay   50 ms  ");
  EXPECT_EQ(a.calls, b.calls);
  EXPECT_EQ(a.cls, b.cls);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.last, b.last);
  EXPECT_EQ(a.amount, b.amount);
  EXPECT_EQ(b.text, "recv@accepted  # 2 .. 5   ->   delay   50 ms");
  EXPECT_EQ(parse_ok("recv p=0.5->EIO").p, 0.5);
  EXPECT_EQ(parse_ok("recv role=mux->EIO").role, "mux");
}

struct bad_rule {
  const char* text;
  std::size_t column;  // 1-based
  const char* message_part;
};

TEST(FaultRules, PeerAndPhaseSelectors) {
  rule r = parse_ok("recv@accepted peer=good:3 phase=stream #2 per-fd -> ECONNRESET");
  EXPECT_EQ(r.peer, "good:3");
  EXPECT_FALSE(r.peer_prefix);
  EXPECT_EQ(r.phase, conn_phase::stream);
  EXPECT_TRUE(r.per_fd);
  EXPECT_EQ(r.first, 2u);
  EXPECT_EQ(parse_ok("recv -> EIO").phase, conn_phase::any);
  EXPECT_EQ(parse_ok("recv -> EIO").peer, "");

  r = parse_ok("send-like peer = good:* -> short 1");
  EXPECT_EQ(r.peer, "good:");
  EXPECT_TRUE(r.peer_prefix);
  EXPECT_EQ(parse_ok("send@connecting peer=listener -> EPIPE").peer, "listener");
  EXPECT_EQ(parse_ok("accept4 peer=- phase=accept -> EMFILE").peer, "-");
  EXPECT_EQ(parse_ok("recv peer=?->EIO").peer, "?");
  EXPECT_EQ(parse_ok("recv peer=a.b_c-d:12->EIO").peer, "a.b_c-d:12");
  EXPECT_EQ(parse_ok("accept-like@listener phase=accept #3 per-fd -> EMFILE").phase,
            conn_phase::accept);
  EXPECT_EQ(parse_ok("connect@connecting phase=connect #1 per-fd -> EINTR").phase,
            conn_phase::connect);
  EXPECT_EQ(parse_ok("recv-like phase=handshake -> trace").phase, conn_phase::handshake);
  EXPECT_EQ(parse_ok("send@connecting phase=stream role=worker -> EPIPE").phase,
            conn_phase::stream);
}

TEST(FaultRules, PeerMatching) {
  rule exact = parse_ok("recv peer=good:3 -> EIO");
  EXPECT_TRUE(peer_matches(exact, "good:3"));
  EXPECT_FALSE(peer_matches(exact, "good:30"));
  EXPECT_FALSE(peer_matches(exact, "good:"));
  EXPECT_FALSE(peer_matches(exact, "?"));
  rule group = parse_ok("recv peer=good:* -> EIO");
  EXPECT_TRUE(peer_matches(group, "good:3"));
  EXPECT_TRUE(peer_matches(group, "good:30"));
  EXPECT_FALSE(peer_matches(group, "goodish:1"));
  EXPECT_FALSE(peer_matches(group, "bad:3"));
  EXPECT_TRUE(peer_matches(parse_ok("recv -> EIO"), "anything"));
  EXPECT_STREQ(conn_phase_name(conn_phase::none), "-");
  EXPECT_STREQ(conn_phase_name(conn_phase::handshake), "handshake");
}

// self= names the process the rule is loaded into (its own FAULTMUX_PEER),
// so one rule given to every worker faults one worker's call.
TEST(FaultRules, SelfSelectsTheProcessByItsOwnName) {
  rule r = parse_ok("connect@connecting self=good:3 phase=connect #1 -> ECONNREFUSED");
  EXPECT_EQ(r.self, "good:3");
  EXPECT_FALSE(r.self_prefix);
  EXPECT_TRUE(r.peer.empty());
  EXPECT_EQ(r.err, ECONNREFUSED);
  EXPECT_TRUE(self_matches(r, "good:3"));
  EXPECT_FALSE(self_matches(r, "good:30"));
  EXPECT_FALSE(self_matches(r, ""));
  rule group = parse_ok("recv@connecting self=good:* peer=listener phase=stream #2 per-fd -> EIO");
  EXPECT_TRUE(group.self_prefix);
  EXPECT_EQ(group.peer, "listener");
  EXPECT_TRUE(self_matches(group, "good:0"));
  EXPECT_FALSE(self_matches(group, "late:0"));
  EXPECT_TRUE(self_matches(parse_ok("recv -> EIO"), ""));
  EXPECT_EQ(parse_ok("connect -> ENOENT").err, ENOENT);
  const bad_rule cases[] = {
      {"recv self= -> EIO", 12,
       "expected a self name after 'self=' (GROUP:INDEX or GROUP:*), got \"->\""},
      {"recv self=? -> EIO", 11, "expected a self name"},
      {"recv self=- -> EIO", 11, "expected a self name"},
      {"recv self=* -> EIO", 11, "a self prefix needs a group before '*', as in self=good:*"},
      {"recv self=a self=b -> EIO", 13, "a rule takes one 'self='"},
  };
  for (const bad_rule& c : cases) {
    rule bad;
    auto err = parse_rule(c.text, bad);
    ASSERT_TRUE(err) << "accepted: " << c.text;
    EXPECT_EQ(err->column, c.column) << c.text << ": " << err->message;
    EXPECT_NE(err->message.find(c.message_part), std::string::npos)
        << c.text << ": " << err->message;
  }
}

TEST(FaultRules, BadPeerAndPhaseSelectors) {
  const bad_rule cases[] = {
      {"recv peer= -> EIO", 12,
       "expected a peer name after 'peer=' (GROUP:INDEX, GROUP:*, listener, - or ?), got \"->\""},
      {"recv peer=* -> EIO", 11, "a peer prefix needs a group before '*', as in peer=good:*"},
      {"recv peer good:1 -> EIO", 11, "expected '=' after 'peer', got \"good\""},
      {"recv peer=a peer=b -> EIO", 13, "a rule takes one 'peer='"},
      {"recv peer=good:1/x -> EIO", 17, "expected '#N'"},
      {"recv peer=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -> EIO", 11,
       "peer names go up to 47 characters"},
      {"recv phase=body -> EIO", 12,
       "expected a phase (accept, connect, handshake, stream) after 'phase=', got \"body\""},
      {"recv phase= -> EIO", 13, "expected a phase"},
      {"recv phase -> EIO", 12, "expected '=' after 'phase', got \"->\""},
      {"recv phase=stream phase=stream -> EIO", 19, "a rule takes one 'phase='"},
      {"recv phase=accept -> EIO", 6, "phase=accept is the phase of accept calls"},
      {"accept phase=connect -> EIO", 8, "phase=connect is the phase of connect calls"},
      {"connect phase=handshake -> EIO", 9, "phase=handshake is a phase of data calls"},
      {"recv@other phase=stream -> EIO", 12,
       "phase=stream is a phase of accepted, connecting and channel"},
      {"accept-like phase=stream -> EMFILE", 13, "phase=stream is a phase of data calls"},
  };
  for (const bad_rule& c : cases) {
    rule r;
    auto err = parse_rule(c.text, r);
    ASSERT_TRUE(err) << "accepted: " << c.text;
    EXPECT_EQ(err->column, c.column) << c.text << ": " << err->message;
    EXPECT_NE(err->message.find(c.message_part), std::string::npos)
        << c.text << ": " << err->message;
  }
}

TEST(FaultRules, PerFd) {
  EXPECT_FALSE(parse_ok("recv@accepted#1 -> EAGAIN").per_fd);
  rule r = parse_ok("recv@accepted#1 per-fd -> EAGAIN");
  EXPECT_TRUE(r.per_fd);
  EXPECT_EQ(r.occ, occurrence::range);
  EXPECT_EQ(r.first, 1u);
  EXPECT_TRUE(parse_ok("send-like@connecting per-fd every 2 role=worker -> short 1").per_fd);
  EXPECT_TRUE(parse_ok("recv-like@accepted per-fd -> trace").per_fd);
  // Accept calls per listening socket, connect calls per socket.
  EXPECT_TRUE(parse_ok("accept4@listener #2 per-fd -> EMFILE").per_fd);
  EXPECT_TRUE(parse_ok("connect@connecting#1 per-fd -> EIO").per_fd);
  EXPECT_TRUE(parse_ok("recv-like@any per-fd -> trace").per_fd);
  EXPECT_TRUE(parse_ok("recv per-fd #1 -> EAGAIN").per_fd);
}

TEST(FaultRules, ErrorsNameTheColumnAndWhatWasExpected) {
  const bad_rule cases[] = {
      {"", 1, "expected a call (accept, accept4"},
      {"recx#1 -> EAGAIN", 1, "got \"recx\""},
      {"-> EAGAIN", 1, "expected a call"},
      {"recv@acepted#1 -> EAGAIN", 6,
       "expected an fd class (listener, accepted, connecting, channel, other, any), got "
       "\"acepted\""},
      {"recv@ -> EAGAIN", 7, "expected an fd class"},
      {"accept@accepted -> EMFILE", 8, "accept calls act on listener fds"},
      {"accept-like@other -> EMFILE", 13, "accept calls act on listener fds"},
      {"connect@listener -> EIO", 9, "connect acts on connecting fds"},
      {"socketpair@channel -> EMFILE", 12, "socketpair acts on no fd: write it without '@CLASS'"},
      {"fork@any -> EAGAIN", 6, "fork acts on no fd"},
      {"execve@other #1 -> ENOENT", 8, "execve acts on no fd"},
      {"fork #1 per-fd -> EAGAIN", 9, "fork acts on no fd: it is counted per process, not per-fd"},
      {"execve peer=mux -> ENOENT", 8, "execve has no connection: it takes no 'peer=' or 'phase='"},
      {"socketpair phase=stream -> EMFILE", 12, "socketpair has no connection"},
      {"fork -> short 1", 9, "short acts on data"},
      {"execve -> eof", 11, "eof is what a read returns"},
      {"recv#0 -> EAGAIN", 6, "call numbers start at 1"},
      {"recv# -> EAGAIN", 7, "expected a call number N >= 1 after '#', got \"->\""},
      {"recv#5..3 -> EAGAIN", 9, "smaller than the first"},
      {"recv#99999999999999999999 -> EIO", 6, "too large"},
      {"recv every 0 -> EAGAIN", 12, "every K needs K >= 1"},
      {"recv every -> EAGAIN", 12, "expected K >= 1 after 'every'"},
      {"recv p=1.5 -> EAGAIN", 8, "a probability must be > 0 and <= 1"},
      {"recv p=0 -> EAGAIN", 8, "a probability must be > 0 and <= 1"},
      {"recv p=x -> EAGAIN", 8, "expected a probability P with 0 < P <= 1 after 'p=', got \"x\""},
      {"recv p 0.5 -> EAGAIN", 8, "expected '=' after 'p', got \"0\""},
      {"recv #1 every 2 -> EAGAIN", 9, "a rule takes one occurrence selector"},
      {"recv p=0.5 #3 -> EAGAIN", 12, "a rule takes one occurrence selector"},
      {"recv role= -> EAGAIN", 12, "expected a role name after 'role=', got \"->\""},
      {"recv role=mux role=worker -> EAGAIN", 15, "a rule takes one 'role='"},
      {"recv role=mux: -> EAGAIN", 16, "expected a process index after ':'"},
      {"recv role mux -> EAGAIN", 11, "expected '=' after 'role', got \"mux\""},
      {"recv #1 EAGAIN", 9,
       "expected '#N', '#N..M', 'every K', 'p=P', 'per-fd', 'role=NAME', 'peer=NAME', "
       "'self=NAME', 'phase=NAME' or '->', got \"EAGAIN\""},
      {"recv@other#1 per-fd -> EAGAIN", 14,
       "write @accepted, @connecting, @channel, @listener or @any"},
      {"recv@listener#1 per-fd -> EAGAIN", 17, "per-fd on @listener counts accept calls"},
      {"recv@accepted p=0.5 per-fd -> EAGAIN", 21, "'p=P' already decides each call"},
      {"recv@accepted per-fd per-fd -> EAGAIN", 22, "a rule takes one 'per-fd'"},
      {"recv #1", 8, "got end of rule"},
      {"recv@accepted", 14, "got end of rule"},
      {"recv -> EAGIAN", 9, "expected an effect (an errno such as EAGAIN"},
      {"recv ->", 8, "expected an effect"},
      {"recv -> short 0", 15, "short K needs K >= 1"},
      {"recv -> short", 14, "expected a byte count K >= 1 after 'short', got end of rule"},
      {"recv -> short x", 15, "expected a byte count"},
      {"recv -> delay 50", 17, "expected a unit (us, ms or s) after the delay, got end of rule"},
      {"recv -> delay 50 min", 18, "got \"min\""},
      {"recv -> delay ms", 15, "expected a duration such as 50ms after 'delay'"},
      {"recv -> delay 61s", 15, "delays go up to 60s"},
      {"recv -> flip 5000", 14, "flip offsets go up to 4095"},
      {"recv -> flip", 13, "expected a byte offset after 'flip'"},
      {"accept -> short 1", 11,
       "short acts on data: it applies to recv-like and send-like calls only"},
      {"connect -> flip 0", 12, "flip acts on data"},
      {"accept-like -> bytewise", 16, "bytewise acts on data"},
      {"recv -> EAGAIN extra", 16, "expected end of rule, got \"extra\""},
      {"recv -> EAGAIN;", 15, "expected end of rule, got \";\""},
  };
  for (const bad_rule& c : cases) {
    rule r;
    auto err = parse_rule(c.text, r);
    ASSERT_TRUE(err) << "accepted: " << c.text;
    EXPECT_EQ(err->column, c.column) << c.text << ": " << err->message;
    EXPECT_NE(err->message.find(c.message_part), std::string::npos)
        << c.text << ": " << err->message;
    EXPECT_EQ(err->rule_text, c.text);
  }
}

TEST(FaultRules, DescribeShowsRuleAndCaret) {
  std::vector<rule> rules;
  auto err = parse_rules("recv@accepted#1 -> EAGAIN; recv@acepted#1 -> EAGAIN", "FAULTMUX_FAULTS",
                         false, rules);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->rule_number, 2u);
  EXPECT_EQ(err->column, 6u);
  EXPECT_EQ(describe(*err),
            "faultmux shim: bad fault rule 2 in FAULTMUX_FAULTS, column 6: expected an fd class "
            "(listener, accepted, connecting, channel, other, any), got \"acepted\"\n"
            "  recv@acepted#1 -> EAGAIN\n"
            "       ^\n");
}

TEST(FaultRules, ListsSplitOnSemicolonsAndNewlines) {
  std::vector<rule> rules;
  auto err = parse_rules(
      "recv@accepted#1 -> EAGAIN; send@accepted every 3 -> short 1\n"
      "\n"
      "  # a comment; not a rule\n"
      "accept p=0.3 -> EMFILE;;\n"
      "recv@accepted#2..5 -> delay 50ms\n"
      "write@other#1 -> flip 0",
      "FAULTMUX_FAULTS", false, rules);
  ASSERT_FALSE(err) << err->message;
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0].text, "recv@accepted#1 -> EAGAIN");
  EXPECT_EQ(rules[1].text, "send@accepted every 3 -> short 1");
  EXPECT_EQ(rules[2].text, "accept p=0.3 -> EMFILE");
  EXPECT_EQ(rules[3].text, "recv@accepted#2..5 -> delay 50ms");
  EXPECT_EQ(rules[4].text, "write@other#1 -> flip 0");
}

TEST(FaultRules, FileErrorsNameTheLine) {
  std::vector<rule> rules;
  ASSERT_FALSE(parse_rules("recv#1 -> EIO", "FAULTMUX_FAULTS", false, rules));
  auto err =
      parse_rules("# first line\nsend#1 -> EIO\n\nsend#x -> EIO\n", "/tmp/rules.txt", true, rules);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->origin, "/tmp/rules.txt line 4");
  EXPECT_EQ(err->rule_number, 3u);  // numbering continues across sources
  EXPECT_EQ(err->column, 6u);
  EXPECT_EQ(err->rule_text, "send#x -> EIO");
  EXPECT_NE(describe(*err).find("bad fault rule 3 in /tmp/rules.txt line 4, column 6"),
            std::string::npos);
}

TEST(FaultRules, EmptyListsHaveNoRules) {
  std::vector<rule> rules;
  EXPECT_FALSE(parse_rules("", "FAULTMUX_FAULTS", false, rules));
  EXPECT_FALSE(parse_rules(" ; \n;# only a comment\n", "FAULTMUX_FAULTS", false, rules));
  EXPECT_TRUE(rules.empty());
}

TEST(FaultDecisions, RangesAndEveryK) {
  rule r = parse_ok("recv#2..4 -> EIO");
  std::vector<int> fired;
  for (int n = 1; n <= 6; ++n) {
    if (fires(r, 0, 0, n)) fired.push_back(n);
  }
  EXPECT_EQ(fired, (std::vector<int>{2, 3, 4}));

  r = parse_ok("recv every 3 -> EIO");
  fired.clear();
  for (int n = 1; n <= 10; ++n) {
    if (fires(r, 0, 0, n)) fired.push_back(n);
  }
  EXPECT_EQ(fired, (std::vector<int>{3, 6, 9}));

  r = parse_ok("recv#3.. -> EIO");
  EXPECT_FALSE(fires(r, 0, 0, 2));
  EXPECT_TRUE(fires(r, 0, 0, 3));
  EXPECT_TRUE(fires(r, 0, 0, 1'000'000));
}

std::string pattern(const rule& r, std::uint64_t stream, std::uint64_t rule_index, int calls) {
  std::string s;
  for (int n = 1; n <= calls; ++n) s += fires(r, stream, rule_index, n) ? '1' : '0';
  return s;
}

TEST(FaultDecisions, ProbabilityIsAFunctionOfSeedProcessRuleAndCall) {
  rule r = parse_ok("recv p=0.5 -> EIO");
  std::uint64_t s = process_stream(42, "mux", 0);
  EXPECT_EQ(pattern(r, s, 0, 64), pattern(r, process_stream(42, "mux", 0), 0, 64));
  std::set<std::string> distinct = {
      pattern(r, s, 0, 64),
      pattern(r, process_stream(43, "mux", 0), 0, 64),     // seed
      pattern(r, process_stream(42, "worker", 0), 0, 64),  // role
      pattern(r, process_stream(42, "mux", 1), 0, 64),     // index
      pattern(r, s, 1, 64),                                // rule
      pattern(r, child_stream(s, 1), 0, 64),               // first fork child
      pattern(r, child_stream(s, 2), 0, 64),               // second fork child
  };
  EXPECT_EQ(distinct.size(), 7u);

  int hits = 0;
  for (int n = 1; n <= 10'000; ++n) hits += fires(r, s, 0, n) ? 1 : 0;
  EXPECT_GT(hits, 4'700);
  EXPECT_LT(hits, 5'300);
  EXPECT_EQ(pattern(parse_ok("recv p=1 -> EIO"), s, 0, 32), std::string(32, '1'));
}

}  // namespace
}  // namespace faultmux::faults
