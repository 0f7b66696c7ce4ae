// Explore's pairs, their pure parts: what a first fault's consequences are,
// when two first faults share them, how a run of two faults is judged, and
// the size of the cross product the pruning is measured against.
#include <gtest/gtest.h>

#include "harness/explore/pairs.hpp"

namespace faultmux {
namespace {

fault_point recv_at(const std::string& peer, const std::string& phase, std::uint64_t n) {
  fault_point p;
  p.call = "recv";
  p.fd_class = "accepted";
  p.peer = peer;
  p.phase = phase;
  p.n = n;
  return p;
}

planned_fault fault(const fault_point& p, const std::string& name, const std::string& cls) {
  return {p, effect{name, cls}};
}

TEST(ExplorePairs, ConsequencesAreTheCallsAndEventsNoProfileRunHad) {
  const fault_point first = recv_at("good:0", "handshake", 1);
  const fault_point retry = recv_at("good:0", "handshake", 2);
  consequence c = consequences_of({first, retry}, {"connected", "accept_error"}, {first},
                                  {"connected", "disconnect"});
  ASSERT_EQ(c.points.size(), 1u);
  EXPECT_EQ(c.points[0].key(), retry.key());
  EXPECT_EQ(c.events, (std::set<std::string>{"accept_error"}));
  EXPECT_FALSE(c.empty());
  EXPECT_TRUE(consequences_of({first}, {"connected"}, {first}, {"connected"}).empty());
}

TEST(ExplorePairs, SignaturesAreEqualAcrossMembersOfAGroupAndDifferOtherwise) {
  consequence a, b, other;
  a.points = {recv_at("good:0", "handshake", 2)};
  b.points = {recv_at("good:1", "handshake", 2)};
  other.points = {recv_at("good:0", "stream", 2)};
  EXPECT_EQ(a.signature(), b.signature());
  EXPECT_NE(a.signature(), other.signature());
  other = a;
  other.events = {"dead"};
  EXPECT_NE(a.signature(), other.signature());
}

TEST(ExplorePairs, APairIsJudgedByItsCostlierFault) {
  const fault_point g = recv_at("good:0", "stream", 1), s = recv_at("servers:0", "stream", 1);
  auto t_h = judged_as(fault(g, "EAGAIN", "transient"), fault(s, "EIO", "hard"));
  ASSERT_TRUE(t_h);
  EXPECT_EQ(t_h->fault_class, "hard");
  EXPECT_EQ(t_h->faulted_peer, "servers:0");
  auto t_t = judged_as(fault(g, "EAGAIN", "transient"), fault(s, "EINTR", "transient"));
  ASSERT_TRUE(t_t);
  EXPECT_EQ(t_t->fault_class, "transient");
  auto r_t = judged_as(fault(g, "EAGAIN", "transient"), fault(s, "EMFILE", "resource"));
  EXPECT_EQ(r_t->fault_class, "resource");
  auto h_h_same = judged_as(fault(g, "EIO", "hard"), fault(g, "EPIPE", "hard"));
  ASSERT_TRUE(h_h_same);
  EXPECT_EQ(h_h_same->faulted_peer, "good:0");
  // Two hard faults on two peers may cost both.
  auto h_h = judged_as(fault(g, "EIO", "hard"), fault(s, "EPIPE", "hard"));
  ASSERT_TRUE(h_h);
  EXPECT_EQ(h_h->faulted_peer, "good:0,servers:0");
  // A stall beside a fault on another peer: one run cannot say who held up whom.
  EXPECT_FALSE(judged_as(fault(g, "SIGSTOP", "stall"), fault(s, "EPIPE", "hard")));
}

TEST(ExplorePairs, TheCrossProductPairsSingleFaultsOnDifferentPointsOnly) {
  const fault_point a = recv_at("good:0", "stream", 1), b = recv_at("good:0", "stream", 2);
  // Two effects at a, three at b: 2 x 3 pairs; none of two effects at one point.
  std::vector<planned_fault> singles{fault(a, "EAGAIN", "transient"), fault(a, "EIO", "hard"),
                                     fault(b, "EAGAIN", "transient"), fault(b, "EIO", "hard"),
                                     fault(b, "eof", "hard")};
  EXPECT_EQ(cross_product(singles), 6u);
  EXPECT_EQ(cross_product({}), 0u);
}

}  // namespace
}  // namespace faultmux
