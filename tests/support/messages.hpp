// Messages for tests of the frame codec and the router: one made with every
// header field given, and the check that two are the same.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "mux/message.hpp"

namespace faultmux::test {

inline message make_message(std::uint32_t dst, std::uint32_t src, std::uint32_t auth,
                            std::uint32_t h, std::uint32_t reply_to, std::string data) {
  message m;
  m.dst_id = dst;
  m.src_id = src;
  m.auth_id = auth;
  m.handle = h;
  m.reply_to = reply_to;
  m.data = std::move(data);
  return m;
}

// Every header field and the data of `got` are `want`'s.
inline void expect_same(const message& got, const message& want) {
  EXPECT_EQ(got.dst_id, want.dst_id);
  EXPECT_EQ(got.src_id, want.src_id);
  EXPECT_EQ(got.auth_id, want.auth_id);
  EXPECT_EQ(got.handle, want.handle);
  EXPECT_EQ(got.reply_to, want.reply_to);
  EXPECT_EQ(got.data, want.data);
}

}  // namespace faultmux::test
