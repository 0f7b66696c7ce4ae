// The listener's handshake state machine driven with byte arrays: the client
// pid arriving in any pieces, the 12-byte reply leaving in any pieces.
#include "mux/handshake.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace faultmux {
namespace {

// Every way of cutting n bytes into pieces of at least one byte: bit i of
// `mask` set means a cut after byte i + 1. That is the "fail at N for every
// N" sweep for short reads and writes.
std::vector<std::vector<std::size_t>> all_compositions(std::size_t n) {
  std::vector<std::vector<std::size_t>> result;
  for (std::uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {
    std::vector<std::size_t> pieces;
    std::size_t start = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      if (mask & (1u << i)) {
        pieces.push_back(i + 1 - start);
        start = i + 1;
      }
    }
    pieces.push_back(n - start);
    result.push_back(pieces);
  }
  return result;
}

// Delivers the pid bytes in the given pieces, as short reads would, and
// checks that only the last piece completes the pid.
void read_pid(handshake& hs, const std::array<std::uint8_t, 4>& wire,
              const std::vector<std::size_t>& pieces) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ASSERT_EQ(hs.current(), handshake::state::reading_pid);
    std::span<std::uint8_t> space = hs.pid_space();
    ASSERT_EQ(space.size(), 4 - at);
    ASSERT_LE(pieces[i], space.size());
    std::memcpy(space.data(), wire.data() + at, pieces[i]);
    at += pieces[i];
    bool complete = hs.pid_received(pieces[i]);
    EXPECT_EQ(complete, i + 1 == pieces.size());
    EXPECT_EQ(hs.pid_bytes(), at);
  }
}

TEST(Handshake, StartsReadingThePid) {
  handshake hs;
  EXPECT_EQ(hs.current(), handshake::state::reading_pid);
  EXPECT_EQ(hs.pid_bytes(), 0u);
  EXPECT_EQ(hs.pid_space().size(), 4u);
}

TEST(Handshake, PidInFourPieces) {
  handshake hs;
  read_pid(hs, {0x12, 0x34, 0x56, 0x78}, {1, 1, 1, 1});
  EXPECT_EQ(hs.client_pid(), 0x12345678u);
  EXPECT_TRUE(hs.pid_space().empty());
}

TEST(Handshake, PidInTwoPlusTwo) {
  handshake hs;
  read_pid(hs, {0x00, 0x00, 0x30, 0x39}, {2, 2});
  EXPECT_EQ(hs.client_pid(), 12345u);
}

TEST(Handshake, PidAllAtOnce) {
  handshake hs;
  read_pid(hs, {0x00, 0x3f, 0xff, 0xff}, {4});
  EXPECT_EQ(hs.client_pid(), 4194303u);  // Linux's pid_max ceiling
}

TEST(Handshake, PidIsUnsignedBigEndian) {
  // A high first byte must not sign-extend.
  handshake hs;
  read_pid(hs, {0xde, 0xad, 0xbe, 0xef}, {4});
  EXPECT_EQ(hs.client_pid(), 0xdeadbeefu);
}

TEST(Handshake, PidEverySplit) {
  const std::array<std::uint8_t, 4> wire{0x81, 0x02, 0x43, 0x04};
  auto splits = all_compositions(4);
  ASSERT_EQ(splits.size(), 8u);
  for (const auto& pieces : splits) {
    handshake hs;
    read_pid(hs, wire, pieces);
    EXPECT_EQ(hs.client_pid(), 0x81024304u);
  }
}

TEST(Handshake, StaysReadingUntilTheIdentityIsSet) {
  // The listener allocates the context id between the two phases.
  handshake hs;
  read_pid(hs, {0, 0, 0, 1}, {4});
  EXPECT_EQ(hs.current(), handshake::state::reading_pid);
  hs.set_identity(5, 0, 1);
  EXPECT_EQ(hs.current(), handshake::state::writing_reply);
}

TEST(Handshake, ReplyIsContextIdListenerIdListenerPidBigEndian) {
  handshake hs;
  read_pid(hs, {0, 0, 0, 42}, {4});
  hs.set_identity(0x01020304, 0x05060708, 0x0a0b0c0d);
  EXPECT_EQ(hs.current(), handshake::state::writing_reply);
  std::span<const std::uint8_t> reply = hs.reply_left();
  const std::vector<std::uint8_t> want{0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                       0x07, 0x08, 0x0a, 0x0b, 0x0c, 0x0d};
  EXPECT_EQ(std::vector<std::uint8_t>(reply.begin(), reply.end()), want);
}

TEST(Handshake, ReplyForTypicalIds) {
  // Context 3 assigned by a listener that is context 0 in pid 4321.
  handshake hs;
  read_pid(hs, {0, 0, 0x10, 0}, {4});
  hs.set_identity(3, 0, 4321);
  std::span<const std::uint8_t> reply = hs.reply_left();
  const std::vector<std::uint8_t> want{0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x10, 0xe1};
  EXPECT_EQ(std::vector<std::uint8_t>(reply.begin(), reply.end()), want);
}

TEST(Handshake, ReplyAllAtOnce) {
  handshake hs;
  read_pid(hs, {0, 0, 0, 7}, {4});
  hs.set_identity(9, 1, 2);
  EXPECT_TRUE(hs.reply_sent(12));
  EXPECT_EQ(hs.current(), handshake::state::done);
  EXPECT_TRUE(hs.reply_left().empty());
}

TEST(Handshake, ReplyEverySplit) {
  const std::vector<std::uint8_t> want{0xff, 0xfe, 0xfd, 0xfc, 0, 0, 0, 1, 0x80, 0, 0, 0x7f};
  auto splits = all_compositions(12);
  ASSERT_EQ(splits.size(), 2048u);
  for (const auto& pieces : splits) {
    handshake hs;
    read_pid(hs, {0, 0, 0, 1}, {4});
    hs.set_identity(0xfffefdfc, 1, 0x8000007f);
    std::vector<std::uint8_t> sent;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      ASSERT_EQ(hs.current(), handshake::state::writing_reply);
      std::span<const std::uint8_t> left = hs.reply_left();
      ASSERT_EQ(left.size(), 12 - sent.size());
      // What is left is always the unsent tail of the reply.
      ASSERT_TRUE(std::equal(left.begin(), left.end(), want.begin() + sent.size()));
      sent.insert(sent.end(), left.begin(), left.begin() + pieces[i]);
      bool complete = hs.reply_sent(pieces[i]);
      ASSERT_EQ(complete, i + 1 == pieces.size());
    }
    EXPECT_EQ(sent, want);
    EXPECT_EQ(hs.current(), handshake::state::done);
    EXPECT_TRUE(hs.reply_left().empty());
  }
}

TEST(Handshake, ZeroByteReplyWriteChangesNothing) {
  handshake hs;
  read_pid(hs, {0, 0, 0, 1}, {4});
  hs.set_identity(1, 2, 3);
  EXPECT_FALSE(hs.reply_sent(0));
  EXPECT_EQ(hs.current(), handshake::state::writing_reply);
  EXPECT_EQ(hs.reply_left().size(), 12u);
}

TEST(Handshake, ZeroBytePidReadChangesNothing) {
  handshake hs;
  EXPECT_FALSE(hs.pid_received(0));
  EXPECT_EQ(hs.pid_bytes(), 0u);
  EXPECT_EQ(hs.current(), handshake::state::reading_pid);
}

}  // namespace
}  // namespace faultmux
