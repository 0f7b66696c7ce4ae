#include "mux/frame.hpp"

#include <gtest/gtest.h>

namespace faultmux {
namespace {

TEST(Frame, RoundTrip) {
  message m;
  m.dst_id = 1;
  m.src_id = 2;
  m.auth_id = 3;
  m.handle = 1000;
  m.reply_to = 1001;
  m.data = "hello";
  std::string bytes = encode_frame(m);
  ASSERT_EQ(bytes.size(), header_size + 5);
  frame_decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.feed(bytes, out), frame_error::none);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "hello");
  EXPECT_EQ(out[0].reply_to, 1001u);
}

}  // namespace
}  // namespace faultmux
