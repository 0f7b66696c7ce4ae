// The workloads' message bodies: built, and checked without being built.
#include <gtest/gtest.h>

#include "roles/payload.hpp"

namespace faultmux {
namespace {

TEST(Payload, IsPayloadAcceptsExactlyWhatMakePayloadBuilds) {
  for (std::size_t size : {0u, 1u, 8u, 9u, 64u, 4096u}) {
    const std::string p = make_payload(42, size);
    EXPECT_TRUE(is_payload(p, 42, size)) << size;
    if (size >= 8) EXPECT_FALSE(is_payload(p, 43, size)) << size;  // the seq is in bytes 0-7
    EXPECT_FALSE(is_payload(p + "x", 42, size)) << size;
    if (size > 0) {
      EXPECT_FALSE(is_payload(p.substr(1), 42, size)) << size;
      std::string flipped = p;
      flipped.back() = static_cast<char>(flipped.back() ^ 1);
      EXPECT_FALSE(is_payload(flipped, 42, size)) << size;
    }
  }
}

}  // namespace
}  // namespace faultmux
