// The router of one context, driven with fake peers that record what is sent
// to them: every rule and reason string of docs/protocol.md's Routing section, and
// the requester bookkeeping faultmux adds on top of Mitogen.
//
// Topology of most tests: this context is 10; its parent is 1, whose parent
// is the root 0; children 11 (a), 12 (b) and 13 (c) are connected directly;
// 21 sits behind 11 once a announces it; 5 is a context beyond the parent.
#include "mux/router.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

namespace faultmux {
namespace {

constexpr std::uint32_t root_id = 0;
constexpr std::uint32_t parent_id = 1;
constexpr std::uint32_t sibling_id = 5;  // beyond the parent
constexpr std::uint32_t me = 10;
constexpr std::uint32_t a_id = 11;
constexpr std::uint32_t b_id = 12;
constexpr std::uint32_t c_id = 13;
constexpr std::uint32_t grandchild_id = 21;  // behind a
constexpr std::uint32_t client_id = 30;      // a unix client, when a test adds one

struct fake_peer final : peer {
  explicit fake_peer(std::string n) : name_(std::move(n)) {}
  const std::string& name() const override { return name_; }
  void send(message m) override { sent.push_back(std::move(m)); }

  std::vector<message> with_handle(std::uint32_t h) const {
    std::vector<message> r;
    for (const message& m : sent)
      if (m.handle == h) r.push_back(m);
    return r;
  }
  std::vector<message> dead() const {
    std::vector<message> r;
    for (const message& m : sent)
      if (m.is_dead()) r.push_back(m);
    return r;
  }
  // Bodies of the DEL_ROUTE messages sent here, sorted.
  std::vector<std::string> del_routes() const {
    std::vector<std::string> r;
    for (const message& m : with_handle(handle::del_route)) r.push_back(m.data);
    std::sort(r.begin(), r.end());
    return r;
  }

  std::string name_;
  std::vector<message> sent;
};

// Collects log lines, so tests can check that a drop was reported.
class capture_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
};

message make(std::uint32_t src, std::uint32_t dst, std::uint32_t h, std::uint32_t reply_to = 0,
             std::string data = {}) {
  message m;
  m.src_id = src;
  m.auth_id = src;
  m.dst_id = dst;
  m.handle = h;
  m.reply_to = reply_to;
  m.data = std::move(data);
  return m;
}

message make_dead(std::uint32_t src, std::uint32_t dst, std::uint32_t h, std::string reason) {
  message m = make(src, dst, h, handle::is_dead, std::move(reason));
  return m;
}

// A dead message this context produced: from us, with our authority.
void expect_dead(const message& m, std::uint32_t dst, std::uint32_t h, const std::string& reason,
                 std::uint32_t from = me) {
  EXPECT_TRUE(m.is_dead());
  EXPECT_EQ(m.reply_to, 999u);
  EXPECT_EQ(m.dst_id, dst);
  EXPECT_EQ(m.handle, h);
  EXPECT_EQ(m.data, reason);
  EXPECT_EQ(m.src_id, from);
  EXPECT_EQ(m.auth_id, from);
}

void expect_same(const message& got, const message& want) {
  EXPECT_EQ(got.dst_id, want.dst_id);
  EXPECT_EQ(got.src_id, want.src_id);
  EXPECT_EQ(got.auth_id, want.auth_id);
  EXPECT_EQ(got.handle, want.handle);
  EXPECT_EQ(got.reply_to, want.reply_to);
  EXPECT_EQ(got.data, want.data);
}

class RouterTest : public testing::Test {
 protected:
  void SetUp() override {
    previous_logger_ = spdlog::default_logger();
    sink_ = std::make_shared<capture_sink>();
    auto logger = std::make_shared<spdlog::logger>("router_test", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    build(config());
  }
  void TearDown() override { spdlog::set_default_logger(previous_logger_); }

  static router_config config() {
    router_config cfg;
    cfg.context_id = me;
    cfg.parent_ids = {parent_id, root_id};
    return cfg;
  }

  // A fresh router with the parent and the three children connected, and
  // the ADD_ROUTEs that announced the children already forgotten.
  void build(router_config cfg) {
    r_ = std::make_unique<router>(std::move(cfg));
    r_->on_route_change = [this](std::uint32_t id, peer* via, bool added) {
      route_changes_.emplace_back(id, via, added);
    };
    if (r_->parent_id()) r_->add_peer(&up_, parent_id);
    r_->add_peer(&a_, a_id);
    r_->add_peer(&b_, b_id);
    r_->add_peer(&c_, c_id);
    clear();
  }

  void clear() {
    for (fake_peer* p : {&up_, &a_, &b_, &c_, &client_}) p->sent.clear();
    route_changes_.clear();
  }

  // a announces 21 behind it, as Mitogen's RouteMonitor does.
  void add_grandchild() {
    r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, "21:grandchild"));
    ASSERT_EQ(r_->explicit_route(grandchild_id), &a_);
    clear();
  }

  // A handler that records what it gets.
  std::uint32_t recorder(std::vector<message>& got, handler_options opts = {}) {
    return r_->add_handler([&got](message& m) { got.push_back(m); }, std::move(opts));
  }

  bool logged(const std::string& text) const {
    return std::any_of(sink_->lines.begin(), sink_->lines.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }
  std::string log_text() const {
    std::string s;
    for (const std::string& l : sink_->lines) s += l + "\n";
    return s;
  }

  bool nothing_sent() const {
    return up_.sent.empty() && a_.sent.empty() && b_.sent.empty() && c_.sent.empty() &&
           client_.sent.empty();
  }

  fake_peer up_{"parent"}, a_{"child-a"}, b_{"child-b"}, c_{"child-c"}, client_{"client"};
  std::unique_ptr<router> r_;
  std::vector<std::tuple<std::uint32_t, peer*, bool>> route_changes_;
  std::shared_ptr<capture_sink> sink_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

// ---------------------------------------------------------------------------
// Source verification

TEST_F(RouterTest, BadAuthIdIsDroppedAndLogged) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  // Child a claims its parent's authority.
  message m = make(a_id, me, h, 2000);
  m.auth_id = parent_id;
  r_->on_receive(&a_, m);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(nothing_sent()) << "a dropped message gets no dead reply";
  EXPECT_TRUE(logged("bad auth_id: got 1 via child-a, not parent")) << log_text();
}

TEST_F(RouterTest, BadAuthIdOfAnUnknownContextIsJudgedAgainstTheParentStream) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  message m = make(a_id, me, h);
  m.auth_id = 99;
  r_->on_receive(&a_, m);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(logged("bad auth_id: got 99 via child-a, not parent")) << log_text();
  // The same unknown authority is fine from the parent: it falls back there.
  message from_up = make(99, me, h);
  r_->on_receive(&up_, from_up);
  EXPECT_EQ(got.size(), 1u);
}

TEST_F(RouterTest, BadAuthIdIsAlsoDroppedWhenForwarding) {
  message m = make(a_id, b_id, 3000);
  m.auth_id = b_id;  // a pretends to speak for its sibling
  r_->on_receive(&a_, m);
  EXPECT_TRUE(nothing_sent());
  EXPECT_TRUE(logged("bad auth_id: got 12 via child-a, not child-b")) << log_text();
}

TEST_F(RouterTest, BadSrcIdIsDroppedAndLogged) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  message m = make(b_id, me, h, 2000);
  m.auth_id = a_id;  // authority checks out, the origin does not
  r_->on_receive(&a_, m);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(nothing_sent());
  EXPECT_TRUE(logged("bad src_id: got 12 via child-a, not child-b")) << log_text();
}

TEST_F(RouterTest, SrcIdBehindTheStreamIsAccepted) {
  add_grandchild();
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  // The grandchild with its own authority, and with the child's.
  r_->on_receive(&a_, make(grandchild_id, me, h));
  message m = make(grandchild_id, me, h);
  m.auth_id = a_id;
  r_->on_receive(&a_, m);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].src_id, grandchild_id);
  EXPECT_EQ(got[1].auth_id, a_id);
}

TEST_F(RouterTest, ContextsBeyondTheParentAreAcceptedFromTheParent) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  message m = make(sibling_id, me, h);
  m.auth_id = root_id;
  r_->on_receive(&up_, m);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].auth_id, root_id);
}

TEST_F(RouterTest, MessageOnAnUnregisteredStreamIsDropped) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  fake_peer stranger{"stranger"};
  r_->on_receive(&stranger, make(parent_id, me, h, 2000));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(stranger.sent.empty());
  EXPECT_TRUE(nothing_sent());
}

// ---------------------------------------------------------------------------
// Stamping

TEST_F(RouterTest, StampOverwritesAuthIdAfterVerification) {
  r_->add_peer(&client_, client_id, me);
  clear();
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  r_->on_receive(&client_, make(client_id, me, h));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].src_id, client_id);
  EXPECT_EQ(got[0].auth_id, me);
}

TEST_F(RouterTest, StampDoesNotExcuseAForgedAuthId) {
  // Verification uses the auth_id the client sent, before stamping: a client
  // claiming the listener's own authority is still caught.
  r_->add_peer(&client_, client_id, me);
  clear();
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  message m = make(client_id, me, h);
  m.auth_id = me;
  r_->on_receive(&client_, m);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(logged("bad auth_id: got 10 via client, not parent")) << log_text();
}

TEST_F(RouterTest, StampedAuthIdTravelsWithForwardedMessages) {
  r_->add_peer(&client_, client_id, me);
  clear();
  r_->on_receive(&client_, make(client_id, a_id, 3000, 0, "x"));
  ASSERT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(a_.sent[0].src_id, client_id);
  EXPECT_EQ(a_.sent[0].auth_id, me);
}

TEST_F(RouterTest, UnstampedStreamKeepsTheSendersAuthId) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  r_->on_receive(&a_, make(a_id, me, h));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].auth_id, a_id);
}

TEST_F(RouterTest, LocalMessagesCarryThisContextsIds) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  message m = make(77, me, h);
  m.auth_id = 88;
  r_->route(m);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].src_id, me);
  EXPECT_EQ(got[0].auth_id, me);
}

// ---------------------------------------------------------------------------
// Local delivery

TEST_F(RouterTest, UnknownHandleGetsInvalidHandle) {
  r_->on_receive(&a_, make(a_id, me, 4242, 2000));
  ASSERT_EQ(a_.sent.size(), 1u);
  expect_dead(a_.sent[0], a_id, 2000, "invalid handle");
  EXPECT_EQ(a_.sent[0].data, reason::invalid_handle);
}

TEST_F(RouterTest, UnknownHandleWithoutReplyToGetsNothing) {
  r_->on_receive(&a_, make(a_id, me, 4242));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, PolicyRefusalGetsRefusedByPolicy) {
  std::vector<message> got;
  std::vector<peer*> asked;
  handler_options opts;
  opts.policy = [&](const message&, peer* from) {
    asked.push_back(from);
    return false;
  };
  std::uint32_t h = recorder(got, opts);
  r_->on_receive(&a_, make(a_id, me, h, 2000));
  EXPECT_TRUE(got.empty());
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], &a_);
  ASSERT_EQ(a_.sent.size(), 1u);
  expect_dead(a_.sent[0], a_id, 2000, "refused by policy");
  EXPECT_EQ(a_.sent[0].data, reason::refused);
}

TEST_F(RouterTest, PolicySeesNoStreamForLocalMessagesAndMayAccept) {
  std::vector<message> got;
  std::vector<peer*> asked;
  handler_options opts;
  opts.policy = [&](const message&, peer* from) {
    asked.push_back(from);
    return true;
  };
  std::uint32_t h = recorder(got, opts);
  r_->route(make(me, me, h));
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], nullptr);
  EXPECT_EQ(got.size(), 1u);
}

TEST_F(RouterTest, ReplyFromUnexpectedContextIsRefused) {
  std::vector<message> got;
  handler_options opts;
  opts.respondent = b_id;
  std::uint32_t h = recorder(got, opts);
  r_->on_receive(&a_, make(a_id, me, h, 2000));
  EXPECT_TRUE(got.empty());
  ASSERT_EQ(a_.sent.size(), 1u);
  expect_dead(a_.sent[0], a_id, 2000, "reply from unexpected context");
  EXPECT_EQ(a_.sent[0].data, reason::unexpected_context);
  // The respondent itself, and a dead message from anywhere, get through.
  r_->on_receive(&b_, make(b_id, me, h));
  r_->on_receive(&a_, make_dead(a_id, me, h, "gone"));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].src_id, b_id);
  EXPECT_TRUE(got[1].is_dead());
}

TEST_F(RouterTest, RespondentIsCheckedBeforeThePolicy) {
  // Mitogen's order: a reply from the wrong context never reaches the policy.
  std::vector<message> got;
  int policy_calls = 0;
  handler_options opts;
  opts.respondent = b_id;
  opts.policy = [&](const message&, peer*) {
    ++policy_calls;
    return false;
  };
  std::uint32_t h = recorder(got, opts);
  r_->on_receive(&a_, make(a_id, me, h, 2000));
  EXPECT_EQ(policy_calls, 0);
  ASSERT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(a_.sent[0].data, reason::unexpected_context);
}

TEST_F(RouterTest, HandlerFailureIsLoggedAndAffectsNothingElse) {
  int throws = 0;
  std::uint32_t bad = r_->add_handler([&](message&) {
    ++throws;
    throw std::runtime_error("handler exploded");
  });
  std::vector<message> got;
  std::uint32_t good = recorder(got);
  std::size_t handlers = r_->handler_count();

  r_->on_receive(&a_, make(a_id, me, bad, 2000));
  EXPECT_EQ(throws, 1);
  EXPECT_TRUE(logged("handler exploded")) << log_text();
  EXPECT_TRUE(nothing_sent()) << "a handler failure is not a dead reply";
  EXPECT_EQ(r_->handler_count(), handlers);

  r_->on_receive(&a_, make(a_id, me, good));
  r_->on_receive(&a_, make(a_id, me, bad));
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(throws, 2) << "the failing handler stays registered";
}

TEST_F(RouterTest, NonPersistentHandlerIsRemovedAfterOneMessage) {
  std::vector<message> got;
  handler_options opts;
  opts.persist = false;
  std::size_t before = r_->handler_count();
  std::uint32_t h = recorder(got, opts);
  EXPECT_EQ(r_->handler_count(), before + 1);
  r_->on_receive(&a_, make(a_id, me, h, 2000));
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(r_->handler_count(), before);
  r_->on_receive(&a_, make(a_id, me, h, 2001));
  EXPECT_EQ(got.size(), 1u);
  ASSERT_EQ(a_.sent.size(), 1u);
  expect_dead(a_.sent[0], a_id, 2001, reason::invalid_handle);
}

TEST_F(RouterTest, HandlerMayRemoveItselfWhileRunning) {
  int calls = 0;
  std::uint32_t h = 0;
  h = r_->add_handler([&](message&) {
    ++calls;
    EXPECT_TRUE(r_->del_handler(h));
  });
  r_->on_receive(&a_, make(a_id, me, h));
  r_->on_receive(&a_, make(a_id, me, h));
  EXPECT_EQ(calls, 1);
}

TEST_F(RouterTest, HandlesAreAllocatedFromOneThousand) {
  auto noop = [](message&) {};
  EXPECT_EQ(r_->add_handler(noop), 1000u);
  EXPECT_EQ(r_->add_handler(noop), handle::first_dynamic + 1);
  // An explicit handle in the dynamic range is skipped by the allocator.
  handler_options fixed;
  fixed.handle = 1002;
  EXPECT_EQ(r_->add_handler(noop, fixed), 1002u);
  EXPECT_EQ(r_->add_handler(noop), 1003u);
  // Well-known handles do not move the allocator.
  handler_options well_known;
  well_known.handle = handle::call_function;
  EXPECT_EQ(r_->add_handler(noop, well_known), 101u);
  EXPECT_EQ(r_->add_handler(noop), 1004u);
  EXPECT_TRUE(r_->del_handler(1004));
  EXPECT_FALSE(r_->del_handler(1004));
}

// ---------------------------------------------------------------------------
// Forwarding

TEST_F(RouterTest, ForwardsOnAnExplicitRouteUnchanged) {
  message m = make(a_id, b_id, 3000, 0, "payload");
  r_->on_receive(&a_, m);
  ASSERT_EQ(b_.sent.size(), 1u);
  expect_same(b_.sent[0], m);
  EXPECT_TRUE(up_.sent.empty());
  EXPECT_TRUE(a_.sent.empty());
  EXPECT_TRUE(c_.sent.empty());
}

TEST_F(RouterTest, ForwardsToAGrandchildThroughItsChild) {
  add_grandchild();
  r_->on_receive(&b_, make(b_id, grandchild_id, 3000));
  ASSERT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(a_.sent[0].dst_id, grandchild_id);
}

TEST_F(RouterTest, UnknownDestinationFromAChildGoesToTheParent) {
  message m = make(a_id, sibling_id, 3000, 2000, "up");
  r_->on_receive(&a_, m);
  ASSERT_EQ(up_.sent.size(), 1u);
  expect_same(up_.sent[0], m);
  EXPECT_TRUE(a_.sent.empty());
}

TEST_F(RouterTest, UnknownDestinationFromThisContextGoesToTheParent) {
  r_->route(make(0, sibling_id, 3000));
  ASSERT_EQ(up_.sent.size(), 1u);
  EXPECT_EQ(up_.sent[0].src_id, me);
  EXPECT_EQ(up_.sent[0].auth_id, me);
}

TEST_F(RouterTest, NoRouteInTheRootGetsNoRouteDead) {
  router_config cfg;
  cfg.context_id = root_id;
  build(cfg);
  r_->on_receive(&a_, make(a_id, 99, 3000, 2000));
  ASSERT_EQ(a_.sent.size(), 1u);
  expect_dead(a_.sent[0], a_id, 2000, "no route to 99, my ID is 0", root_id);
  EXPECT_EQ(a_.sent[0].data, fmt::format(reason::no_route, 99, root_id));
  EXPECT_TRUE(b_.sent.empty());
}

TEST_F(RouterTest, NoRouteWithoutReplyToGetsNothing) {
  router_config cfg;
  cfg.context_id = root_id;
  build(cfg);
  r_->on_receive(&a_, make(a_id, 99, 3000));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, FromTheParentForAMissingChildIsNotBouncedUp) {
  // Sent back up, it would fail the parent's source verification; a dead
  // reply goes instead.
  r_->on_receive(&up_, make(root_id, 14, 3000, 2000));
  ASSERT_EQ(up_.sent.size(), 1u);
  expect_dead(up_.sent[0], root_id, 2000, fmt::format(reason::no_route, 14, me));
  EXPECT_EQ(up_.sent[0].data, "no route to 14, my ID is 10");
}

TEST_F(RouterTest, FromTheParentForAMissingChildWithoutReplyToGetsNothing) {
  r_->on_receive(&up_, make(root_id, 14, 3000));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, FromTheParentForADisconnectedChildGetsNoRoute) {
  r_->on_disconnect(&a_);
  clear();
  r_->on_receive(&up_, make(parent_id, a_id, 3000, 2000));
  ASSERT_EQ(up_.sent.size(), 1u);
  expect_dead(up_.sent[0], parent_id, 2000, "no route to 11, my ID is 10");
}

// ---------------------------------------------------------------------------
// Unidirectional mode

class UnidirectionalTest : public RouterTest {
 protected:
  void SetUp() override {
    RouterTest::SetUp();
    router_config cfg = config();
    cfg.unidirectional = true;
    build(cfg);
  }
};

TEST_F(UnidirectionalTest, ForwardBetweenChildrenIsRefused) {
  r_->on_receive(&a_, make(a_id, b_id, 3000, 2000));
  EXPECT_TRUE(b_.sent.empty());
  ASSERT_EQ(a_.sent.size(), 1u);
  expect_dead(a_.sent[0], a_id, 2000,
              "routing mode prevents forward of message from context 11 to context 12 via "
              "context 10");
  EXPECT_EQ(a_.sent[0].data, fmt::format(reason::unidirectional, a_id, b_id, me));
}

TEST_F(UnidirectionalTest, RefusalWithoutReplyToSendsNothing) {
  r_->on_receive(&a_, make(a_id, b_id, 3000));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(UnidirectionalTest, TrafficWithTheParentPasses) {
  r_->on_receive(&up_, make(parent_id, a_id, 3000));
  r_->on_receive(&a_, make(a_id, sibling_id, 3000));
  EXPECT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(up_.sent.size(), 1u);
  EXPECT_TRUE(r_->is_privileged(&up_));
  EXPECT_FALSE(r_->is_privileged(&a_));
}

TEST_F(UnidirectionalTest, ClientStampedWithThisContextIsPrivileged) {
  r_->add_peer(&client_, client_id, me);
  clear();
  EXPECT_TRUE(r_->is_privileged(&client_));
  r_->on_receive(&client_, make(client_id, a_id, 3000, 2000));
  r_->on_receive(&a_, make(a_id, client_id, 3001, 2001));
  EXPECT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(a_.sent[0].handle, 3000u);
  EXPECT_EQ(client_.sent.size(), 1u);
  EXPECT_EQ(client_.sent[0].handle, 3001u);
}

TEST_F(UnidirectionalTest, ClientStampedWithAnAncestorIsPrivileged) {
  r_->add_peer(&client_, client_id, root_id);
  clear();
  EXPECT_TRUE(r_->is_privileged(&client_));
}

TEST_F(UnidirectionalTest, ClientStampedWithAnotherContextIsNot) {
  r_->add_peer(&client_, client_id, c_id);
  clear();
  EXPECT_FALSE(r_->is_privileged(&client_));
  r_->on_receive(&client_, make(client_id, b_id, 3000, 2000));
  EXPECT_TRUE(b_.sent.empty());
  ASSERT_EQ(client_.sent.size(), 1u);
  expect_dead(client_.sent[0], client_id, 2000,
              "routing mode prevents forward of message from context 30 to context 12 via "
              "context 10");
}

TEST_F(UnidirectionalTest, LocalDeliveryIsNotAForward) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  r_->on_receive(&a_, make(a_id, me, h));
  EXPECT_EQ(got.size(), 1u);
}

TEST_F(UnidirectionalTest, UnknownPeerIsNotPrivileged) {
  fake_peer stranger{"stranger"};
  EXPECT_FALSE(r_->is_privileged(&stranger));
}

// ---------------------------------------------------------------------------
// Size limit

class SizeLimitTest : public RouterTest {
 protected:
  void SetUp() override {
    RouterTest::SetUp();
    router_config cfg = config();
    cfg.max_message_size = 64;
    build(cfg);
  }
};

TEST_F(SizeLimitTest, OverLimitWithReplyToGetsTooLargeToTheSender) {
  r_->on_receive(&a_, make(a_id, b_id, 3000, 2000, std::string(65, 'x')));
  EXPECT_TRUE(b_.sent.empty());
  ASSERT_EQ(a_.sent.size(), 1u);
  expect_dead(a_.sent[0], a_id, 2000, "message too large (max 64 bytes)");
  EXPECT_EQ(a_.sent[0].data, fmt::format(reason::too_large, 64));
}

TEST_F(SizeLimitTest, OverLimitWithoutReplyToGetsTooLargeToTheRecipient) {
  // Nobody waits at the sender, so the recipient hears of it instead.
  r_->on_receive(&a_, make(a_id, b_id, 3000, 0, std::string(65, 'x')));
  EXPECT_TRUE(a_.sent.empty());
  ASSERT_EQ(b_.sent.size(), 1u);
  expect_dead(b_.sent[0], b_id, 3000, "message too large (max 64 bytes)");
}

TEST_F(SizeLimitTest, ExactlyTheLimitIsForwarded) {
  r_->on_receive(&a_, make(a_id, b_id, 3000, 2000, std::string(64, 'x')));
  ASSERT_EQ(b_.sent.size(), 1u);
  EXPECT_EQ(b_.sent[0].data.size(), 64u);
  EXPECT_TRUE(a_.sent.empty());
}

TEST_F(SizeLimitTest, OverLimitLocalMessageReachesTheHandlerAsDead) {
  std::vector<message> got;
  std::uint32_t h = recorder(got);
  r_->route(make(me, me, h, 0, std::string(100, 'x')));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].is_dead());
  EXPECT_EQ(got[0].data, "message too large (max 64 bytes)");
}

TEST_F(RouterTest, LimitBelowTheLengthOfAReasonDoesNotLoop) {
  // The dead reply would itself be over the limit: it is dropped, not
  // answered with another dead message, and so on forever.
  router_config cfg = config();
  cfg.max_message_size = 16;
  build(cfg);
  r_->on_receive(&a_, make(a_id, b_id, 3000, 2000, std::string(17, 'x')));
  r_->on_receive(&a_, make(a_id, b_id, 3000, 0, std::string(17, 'x')));
  EXPECT_TRUE(nothing_sent());
  EXPECT_TRUE(logged("over the limit of 16")) << log_text();
}

TEST_F(SizeLimitTest, OverLimitDeadMessageGoesToTheRecipient) {
  // As Mitogen: a dead message has no reply_to to answer, and is not
  // "unreachable", so the recipient is told.
  r_->on_receive(&a_, make_dead(a_id, b_id, 3000, std::string(65, 'x')));
  EXPECT_TRUE(a_.sent.empty());
  ASSERT_EQ(b_.sent.size(), 1u);
  expect_dead(b_.sent[0], b_id, 3000, "message too large (max 64 bytes)");
}

// ---------------------------------------------------------------------------
// Dead replies go only where reply_to is set and the message is not dead

TEST_F(RouterTest, DeadMessageToAnUnknownHandleGetsNoReply) {
  r_->on_receive(&a_, make_dead(a_id, me, 4242, "whatever"));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, DeadMessageRefusedByPolicyGetsNoReply) {
  handler_options opts;
  opts.policy = [](const message&, peer*) { return false; };
  std::uint32_t h = r_->add_handler([](message&) {}, opts);
  r_->on_receive(&a_, make_dead(a_id, me, h, "whatever"));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, DeadMessageWithNoRouteGetsNoReply) {
  router_config cfg;
  cfg.context_id = root_id;
  build(cfg);
  r_->on_receive(&a_, make_dead(a_id, 99, 3000, "whatever"));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(UnidirectionalTest, DeadMessageRefusedGetsNoReply) {
  r_->on_receive(&a_, make_dead(a_id, b_id, 3000, "whatever"));
  EXPECT_TRUE(nothing_sent());
}

// ---------------------------------------------------------------------------
// ADD_ROUTE / DEL_ROUTE

TEST_F(RouterTest, ConnectingAChildAnnouncesItUpward) {
  r_->add_peer(&client_, client_id);
  ASSERT_EQ(up_.sent.size(), 1u);
  EXPECT_EQ(up_.sent[0].handle, handle::add_route);
  EXPECT_EQ(up_.sent[0].dst_id, parent_id);
  EXPECT_EQ(up_.sent[0].src_id, me);
  EXPECT_EQ(up_.sent[0].data, "30:client");
  EXPECT_EQ(r_->explicit_route(client_id), &client_);
}

TEST_F(RouterTest, AddRouteFromTheImmediateChildIsApplied) {
  std::size_t routes = r_->route_count();
  r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, "21:grandchild"));
  EXPECT_EQ(r_->explicit_route(grandchild_id), &a_);
  EXPECT_EQ(r_->route_to(grandchild_id), &a_);
  EXPECT_EQ(r_->route_count(), routes + 1);
  ASSERT_EQ(route_changes_.size(), 1u);
  EXPECT_EQ(route_changes_[0], std::make_tuple(grandchild_id, static_cast<peer*>(&a_), true));
  // Propagated up with the grandchild's own name, as Mitogen's RouteMonitor.
  ASSERT_EQ(up_.sent.size(), 1u);
  EXPECT_EQ(up_.sent[0].handle, handle::add_route);
  EXPECT_EQ(up_.sent[0].dst_id, parent_id);
  EXPECT_EQ(up_.sent[0].src_id, me);
  EXPECT_EQ(up_.sent[0].auth_id, me);
  EXPECT_EQ(up_.sent[0].data, "21:grandchild");
}

TEST_F(RouterTest, AddRouteWithoutANameIsPropagatedWithoutOne) {
  r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, "21"));
  EXPECT_EQ(r_->explicit_route(grandchild_id), &a_);
  ASSERT_EQ(up_.sent.size(), 1u);
  EXPECT_EQ(up_.sent[0].data, "21");
}

TEST_F(RouterTest, DuplicateAddRouteIsIgnored) {
  add_grandchild();
  std::size_t routes = r_->route_count();
  r_->on_receive(&b_, make(b_id, me, handle::add_route, 0, "21:impostor"));
  r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, "21:again"));
  // A child announcing a sibling's id, too.
  r_->on_receive(&b_, make(b_id, me, handle::add_route, 0, "11:impostor"));
  EXPECT_EQ(r_->explicit_route(grandchild_id), &a_);
  EXPECT_EQ(r_->explicit_route(a_id), &a_);
  EXPECT_EQ(r_->route_count(), routes);
  EXPECT_TRUE(route_changes_.empty());
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, AddRouteFromANonChildIsIgnored) {
  add_grandchild();
  std::size_t routes = r_->route_count();
  // From a grandchild, through its parent's stream.
  r_->on_receive(&a_, make(grandchild_id, me, handle::add_route, 0, "22:x"));
  // From our parent.
  r_->on_receive(&up_, make(parent_id, me, handle::add_route, 0, "23:x"));
  // From ourselves.
  r_->route(make(me, me, handle::add_route, 0, "24:x"));
  for (std::uint32_t id : {22u, 23u, 24u}) EXPECT_EQ(r_->explicit_route(id), nullptr) << id;
  EXPECT_EQ(r_->route_count(), routes);
  EXPECT_TRUE(route_changes_.empty());
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, AddRouteWithABadOrReservedIdIsIgnored) {
  std::size_t routes = r_->route_count();
  for (const char* body :
       {"", "abc", ":x", "-5", "22x", "99999999999:x", "10:me", "1:parent", "0:root"}) {
    r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, body));
  }
  EXPECT_EQ(r_->route_count(), routes);
  EXPECT_EQ(r_->explicit_route(me), nullptr);
  EXPECT_EQ(r_->explicit_route(root_id), nullptr);
  EXPECT_EQ(r_->explicit_route(parent_id), &up_);
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, DelRouteFromTheChildThatOwnsTheRouteIsApplied) {
  add_grandchild();
  std::size_t routes = r_->route_count();
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "21"));
  EXPECT_EQ(r_->explicit_route(grandchild_id), nullptr);
  EXPECT_EQ(r_->route_count(), routes - 1);
  ASSERT_EQ(route_changes_.size(), 1u);
  EXPECT_EQ(route_changes_[0], std::make_tuple(grandchild_id, static_cast<peer*>(&a_), false));
  ASSERT_EQ(up_.sent.size(), 1u);
  EXPECT_EQ(up_.sent[0].handle, handle::del_route);
  EXPECT_EQ(up_.sent[0].dst_id, parent_id);
  EXPECT_EQ(up_.sent[0].data, "21");
}

TEST_F(RouterTest, DelRouteAcceptsIdColonName) {
  add_grandchild();
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "21:grandchild"));
  EXPECT_EQ(r_->explicit_route(grandchild_id), nullptr);
}

TEST_F(RouterTest, DelRouteFromTheWrongStreamIsIgnored) {
  add_grandchild();
  std::size_t routes = r_->route_count();
  r_->on_receive(&b_, make(b_id, me, handle::del_route, 0, "21"));
  r_->on_receive(&b_, make(b_id, me, handle::del_route, 0, "11"));
  EXPECT_EQ(r_->explicit_route(grandchild_id), &a_);
  EXPECT_EQ(r_->explicit_route(a_id), &a_);
  EXPECT_EQ(r_->route_count(), routes);
  EXPECT_TRUE(route_changes_.empty());
  EXPECT_TRUE(nothing_sent());
  EXPECT_TRUE(logged("DEL_ROUTE for 21 from 12 via child-b ignored")) << log_text();
}

TEST_F(RouterTest, DelRouteFromANonImmediateChildIsIgnored) {
  add_grandchild();
  std::size_t routes = r_->route_count();
  r_->on_receive(&a_, make(grandchild_id, me, handle::del_route, 0, "21"));
  EXPECT_EQ(r_->explicit_route(grandchild_id), &a_);
  EXPECT_EQ(r_->route_count(), routes);
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, DelRouteForAnUnknownIdIsIgnored) {
  std::size_t routes = r_->route_count();
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "99"));
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "junk"));
  EXPECT_EQ(r_->route_count(), routes);
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, DelRouteFromTheParentForOurOwnChildIsIgnored) {
  // Mitogen's RouteMonitor: the route to 11 is registered via a, not via the
  // parent, so the parent cannot declare it gone.
  std::vector<message> dead_at;
  handler_options opts;
  opts.respondent = a_id;
  recorder(dead_at, opts);
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2000));
  clear();
  r_->on_receive(&up_, make(parent_id, me, handle::del_route, 0, "11"));
  EXPECT_EQ(r_->explicit_route(a_id), &a_);
  EXPECT_TRUE(dead_at.empty());
  EXPECT_EQ(r_->pending_requests(&a_), 1u);
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, DelRouteFromASiblingThroughTheParentIsIgnored) {
  // Only the parent itself speaks for contexts beyond it (Mitogen's
  // is_immediate_child policy): a sibling cannot end our waits.
  r_->on_receive(&a_, make(a_id, sibling_id, 3000, 2000));
  ASSERT_EQ(r_->pending_requests(&up_), 1u);
  clear();
  r_->on_receive(&up_, make(sibling_id, me, handle::del_route, 0, "5"));
  EXPECT_EQ(r_->pending_requests(&up_), 1u);
  EXPECT_TRUE(nothing_sent());
}

// ---------------------------------------------------------------------------
// Disconnect

TEST_F(RouterTest, DisconnectRemovesEveryRouteThroughTheStream) {
  add_grandchild();
  r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, "22:other"));
  clear();
  std::size_t routes = r_->route_count();
  r_->on_disconnect(&a_);
  EXPECT_EQ(r_->route_count(), routes - 3);
  for (std::uint32_t id : {a_id, grandchild_id, 22u}) {
    EXPECT_EQ(r_->explicit_route(id), nullptr) << id;
    EXPECT_EQ(r_->route_to(id), &up_) << id;
  }
  EXPECT_EQ(route_changes_.size(), 3u);
  EXPECT_EQ(r_->explicit_route(b_id), &b_);
}

TEST_F(RouterTest, DisconnectSendsDelRouteUpAndDownToEveryStreamThatSentThere) {
  add_grandchild();
  // b talked to a and to the grandchild; the parent talked to a; c to nobody.
  r_->on_receive(&b_, make(b_id, a_id, 3000));
  r_->on_receive(&b_, make(b_id, grandchild_id, 3000));
  r_->on_receive(&up_, make(parent_id, a_id, 3000));
  clear();
  r_->on_disconnect(&a_);

  // Up: exactly one DEL_ROUTE per id (Mitogen never sends the parent a
  // second one from the fan-out down).
  EXPECT_EQ(up_.del_routes(), (std::vector<std::string>{"11", "21"}));
  for (const message& m : up_.with_handle(handle::del_route)) {
    EXPECT_EQ(m.dst_id, parent_id);
    EXPECT_EQ(m.src_id, me);
    EXPECT_EQ(m.auth_id, me);
  }
  EXPECT_EQ(b_.del_routes(), (std::vector<std::string>{"11", "21"}));
  for (const message& m : b_.with_handle(handle::del_route)) {
    EXPECT_EQ(m.dst_id, b_id);
    EXPECT_EQ(m.src_id, me);
    EXPECT_EQ(m.auth_id, me);
    EXPECT_FALSE(m.is_dead());
  }
  EXPECT_TRUE(c_.sent.empty());
  EXPECT_TRUE(a_.sent.empty()) << "nothing goes to the stream that is gone";
}

TEST_F(RouterTest, ARetiredStreamGetsNoDelRouteFanOut) {
  // b and c both talked to a; b has been told to shut down.
  r_->on_receive(&b_, make(b_id, a_id, 3000));
  r_->on_receive(&c_, make(c_id, a_id, 3000));
  r_->retire(&b_);
  clear();
  r_->on_disconnect(&a_);
  EXPECT_TRUE(b_.sent.empty());
  EXPECT_EQ(c_.del_routes(), (std::vector<std::string>{"11"}));
  EXPECT_EQ(up_.del_routes(), (std::vector<std::string>{"11"}));
  // Retiring touches only the fan-out: b is still routed to.
  r_->route(make(me, b_id, 3000));
  EXPECT_EQ(b_.sent.size(), 1u);
}

TEST_F(RouterTest, DisconnectOfAChildNobodyTalkedToTellsOnlyTheParent) {
  r_->on_disconnect(&c_);
  EXPECT_EQ(up_.del_routes(), (std::vector<std::string>{"13"}));
  EXPECT_TRUE(a_.sent.empty());
  EXPECT_TRUE(b_.sent.empty());
}

TEST_F(RouterTest, DelRouteFromAChildIsFannedOutToTalkers) {
  add_grandchild();
  r_->on_receive(&b_, make(b_id, grandchild_id, 3000));
  clear();
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "21"));
  EXPECT_EQ(b_.del_routes(), (std::vector<std::string>{"21"}));
  EXPECT_EQ(up_.del_routes(), (std::vector<std::string>{"21"}));
  EXPECT_TRUE(a_.sent.empty());
  EXPECT_TRUE(c_.sent.empty());
}

TEST_F(RouterTest, DisconnectOfAnUnknownOrGoneStreamIsHarmless) {
  fake_peer stranger{"stranger"};
  std::size_t routes = r_->route_count();
  r_->on_disconnect(&stranger);
  EXPECT_EQ(r_->route_count(), routes);
  r_->on_disconnect(&c_);
  clear();
  r_->on_disconnect(&c_);
  EXPECT_EQ(r_->route_count(), routes - 1);
  EXPECT_TRUE(nothing_sent());
}

TEST_F(RouterTest, RespondentHandlersGetDeadOnDisconnect) {
  add_grandchild();
  std::vector<message> from_a, from_grandchild, from_b;
  handler_options oa, og, ob;
  oa.respondent = a_id;
  og.respondent = grandchild_id;
  ob.respondent = b_id;
  recorder(from_a, oa);
  recorder(from_grandchild, og);
  std::uint32_t hb = recorder(from_b, ob);
  std::size_t handlers = r_->handler_count();

  r_->on_disconnect(&a_);
  ASSERT_EQ(from_a.size(), 1u);
  ASSERT_EQ(from_grandchild.size(), 1u);
  for (const message& m : {from_a[0], from_grandchild[0]}) {
    EXPECT_TRUE(m.is_dead());
    EXPECT_EQ(m.data, "the respondent Context has disconnected");
    EXPECT_EQ(m.data, reason::respondent_disconnected);
  }
  EXPECT_TRUE(from_b.empty());
  EXPECT_EQ(r_->handler_count(), handlers - 2);
  r_->on_receive(&b_, make(b_id, me, hb));
  EXPECT_EQ(from_b.size(), 1u);
}

TEST_F(RouterTest, RespondentHandlerGetsDeadOnDelRouteFromTheChild) {
  add_grandchild();
  std::vector<message> got;
  handler_options opts;
  opts.respondent = grandchild_id;
  recorder(got, opts);
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "21"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].is_dead());
  EXPECT_EQ(got[0].data, reason::respondent_disconnected);
}

TEST_F(RouterTest, RespondentHandlerGetsDeadOnDelRouteFromTheParent) {
  std::vector<message> got;
  handler_options opts;
  opts.respondent = sibling_id;
  recorder(got, opts);
  r_->on_receive(&up_, make(parent_id, me, handle::del_route, 0, "5"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].is_dead());
  EXPECT_EQ(got[0].data, "the respondent Context has disconnected");
}

// ---------------------------------------------------------------------------
// Shutdown

TEST_F(RouterTest, ShutdownGivesEveryHandlerBrokerHasExitted) {
  std::vector<message> first, second;
  recorder(first);
  r_->add_handler([](message&) { throw std::runtime_error("late failure"); });
  handler_options fixed;
  fixed.handle = handle::call_function;
  recorder(second, fixed);

  r_->shutdown_handlers();
  EXPECT_EQ(r_->handler_count(), 0u);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  for (const message& m : {first[0], second[0]}) {
    EXPECT_TRUE(m.is_dead());
    EXPECT_EQ(m.data, "Broker has exitted");
    EXPECT_EQ(m.data, reason::broker_exit);
  }
  EXPECT_TRUE(logged("late failure")) << log_text();
  // Nothing is left to deliver to.
  r_->on_receive(&a_, make(a_id, me, handle::call_function, 2000));
  ASSERT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(a_.sent[0].data, reason::invalid_handle);
}

// ---------------------------------------------------------------------------
// Beyond Mitogen: requesters waiting on a respondent that goes away

TEST_F(RouterTest, ForwardedRequestIsRememberedUntilItsStreamDisconnects) {
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2000));
  ASSERT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(r_->pending_requests(&a_), 1u);
  EXPECT_EQ(r_->pending_requests(&b_), 0u);
  r_->on_disconnect(&a_);
  EXPECT_EQ(r_->pending_requests(&a_), 0u);
  auto dead = b_.dead();
  ASSERT_EQ(dead.size(), 1u);
  expect_dead(dead[0], b_id, 2000, "the respondent Context has disconnected");
  EXPECT_EQ(dead[0].data, reason::respondent_disconnected);
}

TEST_F(RouterTest, RequestToAGrandchildEndsWhenItsChildDisconnects) {
  add_grandchild();
  r_->on_receive(&b_, make(b_id, grandchild_id, 3000, 2000));
  r_->on_disconnect(&a_);
  auto dead = b_.dead();
  ASSERT_EQ(dead.size(), 1u);
  expect_dead(dead[0], b_id, 2000, reason::respondent_disconnected);
}

TEST_F(RouterTest, ReplyPassingBackClearsTheRecord) {
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2000));
  ASSERT_EQ(r_->pending_requests(&a_), 1u);
  message reply = make(a_id, b_id, 2000, 0, "result");
  r_->on_receive(&a_, reply);
  ASSERT_EQ(b_.sent.size(), 1u);
  expect_same(b_.sent[0], reply);
  EXPECT_EQ(r_->pending_requests(&a_), 0u);
  clear();
  r_->on_disconnect(&a_);
  EXPECT_TRUE(b_.dead().empty()) << "no spurious dead after the reply";
  EXPECT_EQ(b_.del_routes(), (std::vector<std::string>{"11"}));
}

TEST_F(RouterTest, DeadReplyPassingBackClearsTheRecord) {
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2000));
  r_->on_receive(&a_, make_dead(a_id, b_id, 2000, "call failed"));
  EXPECT_EQ(r_->pending_requests(&a_), 0u);
  clear();
  r_->on_disconnect(&a_);
  EXPECT_TRUE(b_.dead().empty());
}

TEST_F(RouterTest, MessageFromAnotherContextOnTheReplyHandleDoesNotClear) {
  add_grandchild();
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2000));
  r_->on_receive(&a_, make(grandchild_id, b_id, 2000, 0, "not the respondent"));
  EXPECT_EQ(r_->pending_requests(&a_), 1u);
  r_->on_disconnect(&a_);
  EXPECT_EQ(b_.dead().size(), 1u);
}

TEST_F(RouterTest, EachRequestIsSettledByItsOwnReply) {
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2000));
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2001));
  r_->on_receive(&c_, make(c_id, a_id, 3000, 2000));
  EXPECT_EQ(r_->pending_requests(&a_), 3u);
  r_->on_receive(&a_, make(a_id, b_id, 2000));
  EXPECT_EQ(r_->pending_requests(&a_), 2u);
  clear();
  r_->on_disconnect(&a_);
  auto b_dead = b_.dead();
  ASSERT_EQ(b_dead.size(), 1u);
  EXPECT_EQ(b_dead[0].handle, 2001u);
  auto c_dead = c_.dead();
  ASSERT_EQ(c_dead.size(), 1u);
  EXPECT_EQ(c_dead[0].handle, 2000u);
}

TEST_F(RouterTest, DelRouteFromTheChildEndsOnlyRequestsToThatContext) {
  add_grandchild();
  r_->on_receive(&b_, make(b_id, grandchild_id, 3000, 2000));
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2001));
  EXPECT_EQ(r_->pending_requests(&a_), 2u);
  clear();
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "21"));
  auto dead = b_.dead();
  ASSERT_EQ(dead.size(), 1u);
  expect_dead(dead[0], b_id, 2000, "the respondent Context has disconnected");
  EXPECT_EQ(r_->pending_requests(&a_), 1u);
}

TEST_F(RouterTest, DelRouteFromTheParentEndsRequestsBeyondIt) {
  r_->on_receive(&a_, make(a_id, sibling_id, 3000, 2000));
  r_->on_receive(&a_, make(a_id, 6, 3000, 2001));
  EXPECT_EQ(r_->pending_requests(&up_), 2u);
  clear();
  r_->on_receive(&up_, make(parent_id, me, handle::del_route, 0, "5"));
  auto dead = a_.dead();
  ASSERT_EQ(dead.size(), 1u);
  expect_dead(dead[0], a_id, 2000, reason::respondent_disconnected);
  EXPECT_EQ(r_->pending_requests(&up_), 1u);
  // a talked to 5, so it hears that 5 is gone; nothing goes back up.
  EXPECT_EQ(a_.del_routes(), (std::vector<std::string>{"5"}));
  EXPECT_TRUE(up_.sent.empty());
}

TEST_F(RouterTest, ParentDisconnectEndsRequestsForwardedUp) {
  r_->on_receive(&a_, make(a_id, sibling_id, 3000, 2000));
  clear();
  r_->on_disconnect(&up_);
  auto dead = a_.dead();
  ASSERT_EQ(dead.size(), 1u);
  expect_dead(dead[0], a_id, 2000, reason::respondent_disconnected);
}

TEST_F(RouterTest, LocalRequesterGetsDeadWhenTheRespondentGoes) {
  std::vector<message> got;
  std::uint32_t reply_handle = recorder(got);
  r_->route(make(me, a_id, 3000, reply_handle));
  ASSERT_EQ(a_.sent.size(), 1u);
  EXPECT_EQ(r_->pending_requests(&a_), 1u);
  r_->on_disconnect(&a_);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].is_dead());
  EXPECT_EQ(got[0].data, "the respondent Context has disconnected");
}

TEST_F(RouterTest, OnlyForwardedRequestsWithReplyToAreRemembered) {
  r_->on_receive(&b_, make(b_id, a_id, 3000));               // no reply_to
  r_->on_receive(&b_, make_dead(b_id, a_id, 3000, "dead"));  // a dead message
  EXPECT_EQ(a_.sent.size(), 2u);
  EXPECT_EQ(r_->pending_requests(&a_), 0u);
  clear();
  r_->on_disconnect(&a_);
  EXPECT_TRUE(b_.dead().empty());
}

TEST_F(UnidirectionalTest, RefusedRequestIsNotRemembered) {
  r_->on_receive(&a_, make(a_id, b_id, 3000, 2000));
  EXPECT_EQ(r_->pending_requests(&b_), 0u);
  clear();
  r_->on_disconnect(&b_);
  EXPECT_TRUE(a_.dead().empty());
}

TEST_F(SizeLimitTest, OversizedReplyEndsTheRequestOnce) {
  // The reply is replaced by a dead message to the requester; that answers
  // the request, so the respondent's later disconnect adds no second dead.
  r_->on_receive(&b_, make(b_id, a_id, 3000, 2000));
  r_->on_receive(&a_, make(a_id, b_id, 2000, 0, std::string(65, 'x')));
  auto dead = b_.dead();
  ASSERT_EQ(dead.size(), 1u);
  expect_dead(dead[0], b_id, 2000, "message too large (max 64 bytes)");
  EXPECT_EQ(r_->pending_requests(&a_), 0u);
  clear();
  r_->on_disconnect(&a_);
  EXPECT_TRUE(b_.dead().empty());
}

}  // namespace
}  // namespace faultmux
