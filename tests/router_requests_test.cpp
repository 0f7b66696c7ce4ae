// The router: the requester bookkeeping faultmux adds on top of Mitogen
// (a forwarded request ends with a dead reply when its way back goes).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/router_fixture.hpp"

namespace faultmux::test {
namespace {

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
}  // namespace faultmux::test
