// The router: forwarding, unidirectional mode, the size limit and dead
// messages, which are never answered.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/router_fixture.hpp"

namespace faultmux::test {
namespace {

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

}  // namespace
}  // namespace faultmux::test
