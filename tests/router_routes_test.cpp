// The router: ADD_ROUTE/DEL_ROUTE, disconnects and shutdown.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/router_fixture.hpp"

namespace faultmux::test {
namespace {

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

// A child that, the moment it is connected, logs and calls its grandparent
// (the root): its ADD_ROUTE leaves this intermediate before any of its
// traffic, so the root knows the way back when the call reaches it, and the
// answer comes back down with no dead message on the way. The control shows
// the check can fail: traffic that overtakes its route is refused one hop up
// as a forgery.
TEST_F(RouterTest, ANewChildsRouteGoesUpBeforeItsTraffic) {
  constexpr std::uint32_t d_id = 14;
  constexpr std::uint32_t reply_handle = 1000;
  fake_peer d{"d"};
  r_->add_peer(&d, d_id);
  // A FORWARD_LOG body: name, level and message, NUL-separated.
  const std::string record(
      "d\0"
      "20\0up at once",
      15);
  r_->on_receive(&d, make(d_id, parent_id, handle::forward_log, 0, record));
  r_->on_receive(&d, make(d_id, root_id, handle::call_function, reply_handle, "call"));
  ASSERT_EQ(up_.sent.size(), 3u);
  EXPECT_EQ(up_.sent[0].handle, handle::add_route);
  EXPECT_EQ(up_.sent[0].data, "14:d");
  EXPECT_EQ(up_.sent[1].handle, handle::forward_log);
  EXPECT_EQ(up_.sent[1].data, record);
  EXPECT_EQ(up_.sent[2].handle, handle::call_function);

  // Our parent (1) and the root (0) above it, fed in a given order. The
  // root answers a call the moment it arrives; returns what reached us.
  auto deliver = [](const std::vector<message>& order) {
    router_config parent_cfg;
    parent_cfg.context_id = parent_id;
    parent_cfg.parent_ids = {root_id};
    router parent(parent_cfg);
    router_config root_cfg;
    root_cfg.context_id = root_id;
    router root(root_cfg);
    fake_peer to_root{"root"}, to_us{"us"}, to_parent{"parent"};
    parent.add_peer(&to_root, root_id);
    parent.add_peer(&to_us, me);
    root.add_peer(&to_parent, parent_id);
    handler_options call_opts;
    call_opts.handle = handle::call_function;
    root.add_handler(
        [&](message& m) { root.route(make(root_id, m.src_id, m.reply_to, 0, "result")); },
        call_opts);
    for (const message& m : order) {
      to_root.sent.clear();
      parent.on_receive(&to_us, m);
      for (const message& up : to_root.sent) root.on_receive(&to_parent, up);
      for (const message& down : to_parent.sent) parent.on_receive(&to_root, down);
      to_parent.sent.clear();
    }
    return to_us.with_handle(reply_handle);
  };
  auto down = deliver(up_.sent);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_FALSE(down[0].is_dead()) << down[0].data;
  EXPECT_EQ(down[0].data, "result");
  r_->on_receive(&up_, down[0]);
  ASSERT_EQ(d.with_handle(reply_handle).size(), 1u);
  EXPECT_EQ(d.with_handle(reply_handle)[0].data, "result");

  EXPECT_FALSE(logged("bad auth_id")) << log_text();
  // The call before the route: the parent cannot tell it from a forgery.
  auto control = deliver({up_.sent[2], up_.sent[0]});
  EXPECT_TRUE(control.empty());
  EXPECT_TRUE(logged("router: bad auth_id: got 14 via us")) << log_text();
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
}

// A stream told to shut down is sent nothing more: a request to it is
// answered at once with a dead reply (it would only meet the context's exit,
// EPIPE or ECONNRESET, and wait for the disconnect to be answered), and a
// message wanting no reply is dropped.
TEST_F(RouterTest, ARequestToARetiredStreamIsAnsweredDeadAtOnce) {
  r_->retire(&b_);
  r_->on_receive(&c_, make(c_id, b_id, 3000, 4000, "call"));
  r_->on_receive(&c_, make(c_id, b_id, 3001));
  r_->route(make(me, b_id, 3002));
  EXPECT_TRUE(b_.sent.empty());
  ASSERT_EQ(c_.dead().size(), 1u);
  EXPECT_EQ(c_.dead()[0].handle, 4000u);
  EXPECT_EQ(c_.dead()[0].data, reason::respondent_disconnected);
  EXPECT_EQ(r_->pending_requests(&b_), 0u);
  // The SHUTDOWN that retires it still goes.
  r_->route(make(me, b_id, handle::shutdown));
  EXPECT_EQ(b_.with_handle(handle::shutdown).size(), 1u);
  // Others are routed as before.
  r_->on_receive(&c_, make(c_id, a_id, 3000, 4001, "call"));
  EXPECT_EQ(a_.sent.size(), 1u);
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

// A stream that talks to an id again after its route came back hears of
// its loss again: one DEL_ROUTE per loss, however many messages it sent.
TEST_F(RouterTest, ATalkerHearsOfEachLossOfAnIdItTalkedToAgain) {
  for (int round = 0; round < 2; ++round) {
    add_grandchild();
    for (int i = 0; i < 3; ++i) r_->on_receive(&b_, make(b_id, grandchild_id, 3000));
    clear();
    r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "21"));
    EXPECT_EQ(b_.del_routes(), (std::vector<std::string>{"21"})) << "round " << round;
  }
  // Not told twice of one loss: b never talked to 21 since.
  add_grandchild();
  r_->on_receive(&a_, make(a_id, me, handle::del_route, 0, "21"));
  EXPECT_TRUE(b_.del_routes().empty());
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

}  // namespace
}  // namespace faultmux::test
