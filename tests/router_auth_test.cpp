// The router: source verification, auth-id stamping and local delivery.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/router_fixture.hpp"

namespace faultmux::test {
namespace {

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

}  // namespace
}  // namespace faultmux::test
