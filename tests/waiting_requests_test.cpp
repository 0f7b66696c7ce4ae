// The table of requests a router forwarded and that still wait for a reply.
#include <gtest/gtest.h>

#include "mux/waiting_requests.hpp"

namespace faultmux {
namespace {

using keys = std::vector<request_key>;

TEST(WaitingRequests, AReplyFromTheRespondentEndsOneRequestOfItsKey) {
  waiting_requests w;
  w.add({10, 2000, 5});
  w.add({10, 2000, 5});
  EXPECT_EQ(w.size(), 2u);
  EXPECT_FALSE(w.settle(10, 2000, 6)) << "a reply from another context ends nothing";
  EXPECT_FALSE(w.settle(10, 2001, 5)) << "nor one to another handle";
  EXPECT_FALSE(w.settle(11, 2000, 5)) << "nor one to another requester";
  EXPECT_TRUE(w.settle(10, 2000, 5));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_TRUE(w.settle(10, 2000, 5));
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(w.settle(10, 2000, 5)) << "a second reply to an ended request ends nothing";
}

TEST(WaitingRequests, ADeadMessageEndsTheLowestRespondentsRequestFirst) {
  waiting_requests w;
  w.add({10, 2000, 9});
  w.add({10, 2000, 4});
  w.add({10, 2000, 7});
  ASSERT_TRUE(w.settle(10, 2000, std::nullopt));
  EXPECT_EQ(w.take(std::nullopt), (keys{{10, 2000, 7}, {10, 2000, 9}}));
  EXPECT_TRUE(w.empty());
}

TEST(WaitingRequests, RespondentsBesideTheFirstAreCountedAndEndedEachOnItsOwn) {
  waiting_requests w;
  w.add({10, 2000, 5});
  w.add({10, 2000, 6});
  w.add({10, 2000, 6});
  w.add({10, 2000, 3});
  EXPECT_TRUE(w.settle(10, 2000, 5)) << "the first respondent goes; the others stay";
  EXPECT_TRUE(w.settle(10, 2000, 6));
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(w.take(std::nullopt), (keys{{10, 2000, 3}, {10, 2000, 6}}));
}

TEST(WaitingRequests, TakingOneRespondentsRequestsLeavesTheRestInKeyOrder) {
  waiting_requests w;
  w.add({12, 3000, 5});
  w.add({10, 2000, 6});
  w.add({10, 2000, 5});
  w.add({10, 2000, 5});
  w.add({11, 2000, 7});
  EXPECT_EQ(w.take(5), (keys{{10, 2000, 5}, {10, 2000, 5}, {12, 3000, 5}}));
  EXPECT_EQ(w.size(), 2u);
  EXPECT_TRUE(w.settle(10, 2000, 6)) << "the key's other respondent still waits";
  EXPECT_EQ(w.take(std::nullopt), (keys{{11, 2000, 7}}));
  EXPECT_TRUE(w.empty());
  EXPECT_TRUE(w.take(std::nullopt).empty());
}

TEST(WaitingRequests, ManyKeysComeAndGoWithoutLosingCount) {
  waiting_requests w;
  for (std::uint32_t i = 0; i < 5000; ++i) w.add({i % 97, 1000 + i, i % 3});
  for (std::uint32_t i = 0; i < 5000; i += 2) ASSERT_TRUE(w.settle(i % 97, 1000 + i, i % 3));
  EXPECT_EQ(w.size(), 2500u);
  EXPECT_EQ(w.take(1).size() + w.size(), 2500u);
}

}  // namespace
}  // namespace faultmux
