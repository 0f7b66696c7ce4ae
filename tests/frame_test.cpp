// The frame codec fed with byte arrays: header layout, every fragmentation of
// a multi-frame buffer, and each bad input with the error it must produce.
#include "mux/frame.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "tests/support/messages.hpp"

namespace faultmux {
namespace {

using test::expect_same;
using test::make_message;

void expect_same(const std::vector<message>& got, const std::vector<message>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    expect_same(got[i], want[i]);
  }
}

// A raw header with any magic and data_len, for inputs encode_frame refuses
// to produce.
std::string raw_header(std::uint16_t magic, std::uint32_t data_len, std::uint32_t dst = 1,
                       std::uint32_t src = 2, std::uint32_t auth = 3, std::uint32_t h = 1000,
                       std::uint32_t reply_to = 0) {
  std::string s;
  s.push_back(static_cast<char>(magic >> 8));
  s.push_back(static_cast<char>(magic & 0xff));
  for (std::uint32_t v : {dst, src, auth, h, reply_to, data_len}) {
    for (int shift = 24; shift >= 0; shift -= 8)
      s.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return s;
}

std::uint32_t be32_at(const std::string& s, std::size_t at) {
  auto b = [&](std::size_t i) { return std::uint32_t{static_cast<std::uint8_t>(s[at + i])}; };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// Three frames of different sizes, one with an empty body, so that splits
// land in headers, in bodies and exactly on frame boundaries.
std::vector<message> three_messages() {
  std::string big(300, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 3);
  return {make_message(10, 20, 30, 1000, 1001, "hello"),
          make_message(0, 1, 1, handle::call_function, 0, ""),
          make_message(0xFFFFFFFF, 0x80000000, 7, handle::is_dead, 0x01020304, big)};
}

std::string encode_all(const std::vector<message>& ms) {
  std::string s;
  for (const message& m : ms) s += encode_frame(m);
  return s;
}

TEST(FrameEncode, HeaderLayoutIsBigEndianAtDocumentedOffsets) {
  message m = make_message(0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10, 0x11121314, "xyz");
  std::string bytes = encode_frame(m);
  ASSERT_EQ(bytes.size(), header_size + 3);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[0]), 0x4d);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[1]), 0x49);
  EXPECT_EQ(be32_at(bytes, 2), 0x01020304u);
  EXPECT_EQ(be32_at(bytes, 6), 0x05060708u);
  EXPECT_EQ(be32_at(bytes, 10), 0x090a0b0cu);
  EXPECT_EQ(be32_at(bytes, 14), 0x0d0e0f10u);
  EXPECT_EQ(be32_at(bytes, 18), 0x11121314u);
  EXPECT_EQ(be32_at(bytes, 22), 3u);
  EXPECT_EQ(bytes.substr(header_size), "xyz");
  // encode_header is the same 26 bytes.
  header_bytes h = encode_header(m);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(h.data()), h.size()),
            bytes.substr(0, header_size));
}

TEST(FrameEncode, RoundTripsEveryHeaderField) {
  // Each field gets distinct values, including the extremes, so a swapped or
  // truncated field shows.
  const std::uint32_t values[] = {0,     1,          0x7f,       0x80,       0xff,
                                  0x100, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff};
  for (int field = 0; field < 5; ++field) {
    for (std::uint32_t v : values) {
      message m = make_message(11, 22, 33, 44, 55, "body");
      std::uint32_t* fields[] = {&m.dst_id, &m.src_id, &m.auth_id, &m.handle, &m.reply_to};
      *fields[field] = v;
      frame_decoder d;
      std::vector<message> out;
      ASSERT_EQ(d.feed(encode_frame(m), out), frame_error::none);
      ASSERT_EQ(out.size(), 1u);
      SCOPED_TRACE(testing::Message() << "field " << field << " value " << v);
      expect_same(out[0], m);
    }
  }
}

TEST(FrameEncode, RoundTripsArbitraryBodyBytes) {
  std::string body;
  for (int i = 0; i < 256; ++i) body.push_back(static_cast<char>(i));
  message m = make_message(1, 2, 3, 4, 5, body);
  frame_decoder d;
  std::vector<message> out;
  ASSERT_EQ(d.feed(encode_frame(m), out), frame_error::none);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, body);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecode, AllFramesInOneFeed) {
  auto want = three_messages();
  frame_decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.feed(encode_all(want), out), frame_error::none);
  expect_same(out, want);
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_EQ(d.error(), frame_error::none);
  EXPECT_TRUE(d.error_detail().empty());
}

TEST(FrameDecode, EverySplitPosition) {
  auto want = three_messages();
  std::string all = encode_all(want);
  for (std::size_t i = 0; i <= all.size(); ++i) {
    SCOPED_TRACE(i);
    frame_decoder d;
    std::vector<message> out;
    ASSERT_EQ(d.feed(all.substr(0, i), out), frame_error::none);
    ASSERT_EQ(d.feed(all.substr(i), out), frame_error::none);
    expect_same(out, want);
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(FrameDecode, EveryPairOfSplitPositions) {
  auto want = three_messages();
  std::string all = encode_all(want);
  for (std::size_t i = 0; i <= all.size(); ++i) {
    for (std::size_t j = i; j <= all.size(); ++j) {
      frame_decoder d;
      std::vector<message> out;
      d.feed(all.substr(0, i), out);
      d.feed(all.substr(i, j - i), out);
      d.feed(all.substr(j), out);
      ASSERT_EQ(out.size(), want.size()) << "splits at " << i << " and " << j;
      for (std::size_t k = 0; k < out.size(); ++k)
        ASSERT_EQ(encode_frame(out[k]), encode_frame(want[k])) << "splits at " << i << ", " << j;
    }
  }
}

TEST(FrameDecode, OneByteAtATimeAndBufferedCounts) {
  auto want = three_messages();
  std::string all = encode_all(want);
  frame_decoder d;
  std::vector<message> out;
  std::size_t frame_start = 0, frame_index = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(d.feed(all.substr(i, 1), out), frame_error::none);
    std::size_t frame_len = header_size + want[frame_index].data.size();
    if (i + 1 == frame_start + frame_len) {
      // The frame's last byte completes it and nothing stays buffered.
      ASSERT_EQ(out.size(), frame_index + 1) << "byte " << i;
      EXPECT_EQ(d.buffered(), 0u);
      frame_start += frame_len;
      ++frame_index;
    } else {
      ASSERT_EQ(out.size(), frame_index) << "byte " << i;
      EXPECT_EQ(d.buffered(), i + 1 - frame_start);
    }
  }
  expect_same(out, want);
}

TEST(FrameDecode, EmptyFeedDoesNothing) {
  frame_decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.feed(std::string(), out), frame_error::none);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), 0u);
  // Also in the middle of a header and of a body.
  std::string f = encode_frame(make_message(1, 2, 3, 4, 5, "abcdef"));
  d.feed(f.substr(0, 10), out);
  EXPECT_EQ(d.feed(std::string(), out), frame_error::none);
  EXPECT_EQ(d.buffered(), 10u);
  d.feed(f.substr(10, 20), out);
  EXPECT_EQ(d.feed(std::string(), out), frame_error::none);
  EXPECT_EQ(d.buffered(), 30u);
  d.feed(f.substr(30), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "abcdef");
}

TEST(FrameDecode, AcceptsTheThreeMitogenMagics) {
  for (std::uint16_t magic : {magic_pickled_legacy, magic_pickled, magic_raw}) {
    SCOPED_TRACE(magic);
    frame_decoder d;
    std::vector<message> out;
    EXPECT_EQ(d.feed(raw_header(magic, 2) + "ok", out), frame_error::none);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, "ok");
  }
  // The literal values, so a changed constant fails here.
  EXPECT_EQ(magic_pickled_legacy, 0x4d49);
  EXPECT_EQ(magic_pickled, 0x4d4a);
  EXPECT_EQ(magic_raw, 0x4d4b);
}

TEST(FrameDecode, BadMagicIsBadMagicWithMitogenWording) {
  for (std::uint16_t magic : {0x0000, 0x494d, 0x4d48, 0x4d4c, 0xffff, 0x4e49}) {
    SCOPED_TRACE(magic);
    frame_decoder d;
    std::vector<message> out;
    EXPECT_EQ(d.feed(raw_header(static_cast<std::uint16_t>(magic), 0), out),
              frame_error::bad_magic);
    EXPECT_EQ(d.error(), frame_error::bad_magic);
    EXPECT_TRUE(out.empty());
    EXPECT_NE(d.error_detail().find("Corruption detected: frame signature incorrect"),
              std::string::npos)
        << d.error_detail();
  }
}

TEST(FrameDecode, BadMagicDetailHasABoundedDumpOfTheHeader) {
  frame_decoder d;
  std::vector<message> out;
  // A megabyte of garbage: the detail must not grow with it.
  std::string garbage(1 << 20, 'A');
  EXPECT_EQ(d.feed(garbage, out), frame_error::bad_magic);
  EXPECT_NE(d.error_detail().find("4141414141"), std::string::npos) << d.error_detail();
  EXPECT_LT(d.error_detail().size(), 512u);
}

TEST(FrameDecode, BadMagicIsCheckedBeforeTheSize) {
  // A header wrong on both counts reports the magic, as Mitogen does.
  frame_decoder d(100);
  std::vector<message> out;
  EXPECT_EQ(d.feed(raw_header(0x1234, 0xFFFFFFFF), out), frame_error::bad_magic);
  EXPECT_EQ(d.error_detail().find("Maximum message size exceeded"), std::string::npos);
}

TEST(FrameDecode, BadMagicNeedsTheWholeHeader) {
  // The magic is judged only once 26 bytes are in: a short read is no error.
  std::string h = raw_header(0x0000, 0);
  frame_decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.feed(h.substr(0, header_size - 1), out), frame_error::none);
  EXPECT_EQ(d.feed(h.substr(header_size - 1), out), frame_error::bad_magic);
}

TEST(FrameDecode, BadMagicAfterGoodFramesKeepsTheGoodOnes) {
  auto want = three_messages();
  frame_decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.feed(encode_all(want) + raw_header(0xbeef, 0), out), frame_error::bad_magic);
  expect_same(out, want);
}

TEST(FrameDecode, DataLenMaxPlusOneIsTooLarge) {
  frame_decoder d(100);
  std::vector<message> out;
  EXPECT_EQ(d.feed(raw_header(magic_pickled_legacy, 101), out), frame_error::too_large);
  EXPECT_EQ(d.error(), frame_error::too_large);
  EXPECT_EQ(d.error_detail(), "Maximum message size exceeded (got 101, max 100)");
  EXPECT_TRUE(out.empty());
  // Nothing beyond the header is held: the body was never allocated.
  EXPECT_LE(d.buffered(), header_size);
  EXPECT_TRUE(d.body_space().empty());
}

TEST(FrameDecode, DataLenAllOnesIsTooLargeWithTheDefaultLimit) {
  frame_decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.feed(raw_header(magic_raw, 0xFFFFFFFF), out), frame_error::too_large);
  EXPECT_EQ(d.error_detail(), "Maximum message size exceeded (got 4294967295, max 134217728)");
  EXPECT_LE(d.buffered(), header_size);
  EXPECT_TRUE(d.body_space().empty());
}

TEST(FrameDecode, DefaultLimitPlusOneIsTooLarge) {
  frame_decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.feed(raw_header(magic_pickled, 128u * 1024 * 1024 + 1), out), frame_error::too_large);
  EXPECT_EQ(d.error_detail(), "Maximum message size exceeded (got 134217729, max 134217728)");
  EXPECT_LE(d.buffered(), header_size);
}

TEST(FrameDecode, DataLenAllOnesAgainstALimitJustBelowIsTooLarge) {
  // The comparison is done in 64 bits, so no wrap-around lets it through.
  frame_decoder d(0xFFFFFFFEull);
  std::vector<message> out;
  EXPECT_EQ(d.feed(raw_header(magic_pickled_legacy, 0xFFFFFFFF), out), frame_error::too_large);
  EXPECT_EQ(d.error_detail(), "Maximum message size exceeded (got 4294967295, max 4294967294)");
}

TEST(FrameDecode, FrameOfExactlyMaxSizeIsAccepted) {
  std::string body(100, 'x');
  frame_decoder d(100);
  std::vector<message> out;
  EXPECT_EQ(d.feed(encode_frame(make_message(1, 2, 2, 1000, 0, body)), out), frame_error::none);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, body);
}

TEST(FrameDecode, ZeroLimitAcceptsOnlyEmptyBodies) {
  frame_decoder d(0);
  std::vector<message> out;
  EXPECT_EQ(d.feed(raw_header(magic_pickled_legacy, 0), out), frame_error::none);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(d.feed(raw_header(magic_pickled_legacy, 1), out), frame_error::too_large);
  EXPECT_EQ(d.error_detail(), "Maximum message size exceeded (got 1, max 0)");
}

TEST(FrameDecode, ConsumesNothingAfterBadMagic) {
  frame_decoder d;
  std::vector<message> out;
  ASSERT_EQ(d.feed(raw_header(0x0102, 0), out), frame_error::bad_magic);
  std::string detail = d.error_detail();
  std::size_t held = d.buffered();
  EXPECT_EQ(d.feed(encode_all(three_messages()), out), frame_error::bad_magic);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), held);
  EXPECT_EQ(d.error_detail(), detail);
  EXPECT_TRUE(d.body_space().empty());
}

TEST(FrameDecode, ConsumesNothingAfterTooLarge) {
  frame_decoder d(10);
  std::vector<message> out;
  // The body bytes that follow the rejected header are not taken either.
  ASSERT_EQ(d.feed(raw_header(magic_pickled_legacy, 11) + std::string(11, 'b'), out),
            frame_error::too_large);
  std::string detail = d.error_detail();
  std::size_t held = d.buffered();
  EXPECT_LE(held, header_size);
  EXPECT_EQ(d.feed(encode_frame(make_message(1, 2, 2, 1000, 0, "ok")), out),
            frame_error::too_large);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), held);
  EXPECT_EQ(d.error_detail(), detail);
}

// Reads every body through body_space()/commit_body(), `chunk` bytes at a
// time, feeding only headers through feed(): what a stream does for a big
// body to save a copy.
std::vector<message> decode_direct(const std::string& all, std::size_t chunk) {
  frame_decoder d;
  std::vector<message> out;
  std::size_t pos = 0;
  while (pos < all.size()) {
    std::span<std::uint8_t> space = d.body_space();
    if (space.empty()) {
      // Between frames: exactly one header through feed(), so feed() never
      // reaches into the body.
      EXPECT_EQ(d.feed(all.substr(pos, header_size), out), frame_error::none);
      pos += header_size;
      continue;
    }
    std::size_t n = std::min({chunk, space.size(), all.size() - pos});
    std::memcpy(space.data(), all.data() + pos, n);
    d.commit_body(n, out);
    pos += n;
  }
  EXPECT_EQ(d.buffered(), 0u);
  return out;
}

TEST(FrameDecode, DirectBodyPathGivesTheSameMessagesAsFeed) {
  auto want = three_messages();
  std::string all = encode_all(want);
  frame_decoder d;
  std::vector<message> fed;
  ASSERT_EQ(d.feed(all, fed), frame_error::none);
  for (std::size_t chunk : {1u, 2u, 7u, 64u, 1000u}) {
    SCOPED_TRACE(chunk);
    expect_same(decode_direct(all, chunk), fed);
  }
}

TEST(FrameDecode, BodySpaceIsTheRestOfTheBody) {
  std::string f = encode_frame(make_message(1, 2, 2, 1000, 0, "0123456789"));
  frame_decoder d;
  std::vector<message> out;
  EXPECT_TRUE(d.body_space().empty());  // no header yet
  d.feed(f.substr(0, header_size + 3), out);
  std::span<std::uint8_t> space = d.body_space();
  ASSERT_EQ(space.size(), 7u);
  std::memcpy(space.data(), f.data() + header_size + 3, 4);
  d.commit_body(4, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.body_space().size(), 3u);
  EXPECT_EQ(d.buffered(), header_size + 7);
  // Mixing paths: the rest through feed().
  d.feed(f.substr(header_size + 7), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "0123456789");
  EXPECT_TRUE(d.body_space().empty());
}

// A stream reads a body in place only when a whole read's worth is still to
// come; a smaller rest goes through the shared read buffer and feed(), and
// asking costs no allocation.
TEST(FrameDecode, BodySpaceAtLeastOnlyForALargeRest) {
  const std::string body(100000, 'b');
  std::string f = encode_frame(make_message(1, 2, 2, 1000, 0, body));
  frame_decoder d;
  std::vector<message> out;
  EXPECT_TRUE(d.body_space(1).empty());  // no header yet
  d.feed(f.substr(0, header_size + 10), out);
  EXPECT_TRUE(d.body_space(body.size()).empty());  // 99990 to come
  EXPECT_EQ(d.buffered(), header_size + 10);
  std::span<std::uint8_t> space = d.body_space(65536);
  ASSERT_EQ(space.size(), body.size() - 10);
  std::memcpy(space.data(), f.data() + header_size + 10, 40000);
  d.commit_body(40000, out);
  EXPECT_TRUE(d.body_space(65536).empty());  // 59990 to come
  d.feed(f.substr(header_size + 40010), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, body);
  EXPECT_TRUE(d.body_space(1).empty());
  EXPECT_EQ(d.buffered(), 0u);
}

}  // namespace
}  // namespace faultmux
