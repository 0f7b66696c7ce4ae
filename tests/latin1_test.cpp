// The latin-1 conversions' vector implementations against the portable one:
// every implementation this CPU can run, on random inputs of every length up
// to 100 with the bytes that trip block-wise code (leads at a block's last
// byte or the text's, continuations without a lead, leads above 0xc3,
// three- and four-byte sequences) at random places.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "mux/latin1.hpp"
#include "mux/latin1_kernels.hpp"
#include "mux/value.hpp"

namespace faultmux::pickle::latin1 {
namespace {

using detail::kernels;

// Pieces of text a position may get: latin-1 and not.
const std::vector<std::string> tricky = {"\xc2",
                                         "\xc3",
                                         "\xc2\x80",
                                         "\xc3\xbf",
                                         "\x80",
                                         "\xbf",
                                         "\xc4\x80",
                                         "\xc0\x80",
                                         "\xc1\xbf",
                                         "\xdf\xbf",
                                         "\xe2\x82\xac",
                                         "\xef\xbf\xbf",
                                         "\xf0\x9f\x98\x80",
                                         "\xff",
                                         "\xfe",
                                         "\x7f",
                                         "\0"};

std::string random_bytes(std::mt19937& rng, std::size_t len, unsigned high_percent) {
  std::string s(len, '\0');
  for (char& c : s) {
    const bool high = rng() % 100 < high_percent;
    c = static_cast<char>(high ? 0x80 + rng() % 128 : rng() % 128);
  }
  return s;
}

// The UTF-8 text of `bytes` as code points, with `pieces` of `tricky`
// written over it: some at a 16- or 32-byte boundary or at the end.
std::string random_text(std::mt19937& rng, std::size_t len, int pieces) {
  std::string bytes = random_bytes(rng, len, rng() % 101);
  std::string s(detail::portable::utf8_size(bytes) + 1, '\0');
  detail::portable::to_utf8(bytes, s.data());
  s.pop_back();
  for (int k = 0; k < pieces && !s.empty(); ++k) {
    const std::string& piece = tricky[rng() % tricky.size()];
    std::size_t at = rng() % s.size();
    switch (rng() % 4) {
      case 0:
        at = at / 16 * 16 + 15;
        break;  // a block's last byte
      case 1:
        at = at / 16 * 16;
        break;  // a block's first byte
      case 2:
        at = s.size() - 1;
        break;  // the very end
      default:
        break;
    }
    s.replace(std::min(at, s.size() - 1), piece.size(), piece);
  }
  return s;
}

struct converted {
  bool bad = false;
  std::size_t end = 0;  // bytes written
  std::string bytes;
};

converted from_utf8(const kernels& k, std::string_view text, std::size_t limit) {
  // The room the conversion may write in, then a guard it must not touch.
  const std::string guard(32, '#');
  std::string buf = std::string(limit + detail::from_utf8_slack, '\0') + guard;
  converted r;
  r.end = static_cast<std::size_t>(k.from_utf8(text, buf.data(), buf.data() + limit, r.bad) -
                                   buf.data());
  EXPECT_EQ(buf.substr(limit + detail::from_utf8_slack), guard) << k.name;
  r.bytes = buf.substr(0, std::min(r.end, limit));
  return r;
}

// Every implementation but the portable one, which the others are held to.
std::vector<const kernels*> vector_paths() {
  std::vector<const kernels*> all = detail::supported();
  all.erase(all.begin());
  return all;
}

TEST(Latin1Paths, TheVectorPathsThisCpuHasAreTested) {
  std::vector<std::string> names;
  for (const kernels* k : detail::supported()) names.push_back(k->name);
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "portable");
  EXPECT_EQ(names.back(), detail::fastest().name);
#if defined(__x86_64__)
  EXPECT_NE(std::find(names.begin(), names.end(), "sse2"), names.end());
  if (__builtin_cpu_supports("ssse3")) {
    EXPECT_NE(std::find(names.begin(), names.end(), "ssse3"), names.end());
  }
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_NE(std::find(names.begin(), names.end(), "avx2"), names.end());
  }
#endif
}

TEST(Latin1Paths, BytesToTextAsThePortableCode) {
  const kernels& portable = *detail::supported().front();
  std::mt19937 rng(15);
  for (const kernels* k : vector_paths()) {
    SCOPED_TRACE(k->name);
    for (std::size_t len = 0; len <= 100; ++len) {
      for (unsigned high : {0u, 1u, 10u, 50u, 90u, 100u}) {
        const std::string bytes = random_bytes(rng, len, high);
        const std::size_t size = portable.utf8_size(bytes);
        ASSERT_EQ(k->utf8_size(bytes), size) << testing::PrintToString(bytes);
        // Room for one byte more than the text, and a guard after it.
        const std::string guard(32, '#');
        std::string want(size + 1, '?'), got(size + 1, '?');
        got += guard;
        portable.to_utf8(bytes, want.data());
        k->to_utf8(bytes, got.data());
        ASSERT_EQ(got.substr(size + 1), guard) << testing::PrintToString(bytes);
        ASSERT_EQ(got.substr(0, size), want.substr(0, size)) << testing::PrintToString(bytes);
      }
    }
  }
}

TEST(Latin1Paths, TextCheckAsThePortableCode) {
  const kernels& portable = *detail::supported().front();
  std::mt19937 rng(16);
  for (const kernels* k : vector_paths()) {
    SCOPED_TRACE(k->name);
    for (std::size_t len = 0; len <= 100; ++len) {
      for (int pieces : {0, 0, 1, 1, 2, 5}) {
        const std::string text = random_text(rng, len, pieces);
        ASSERT_EQ(k->code_points(text), portable.code_points(text)) << testing::PrintToString(text);
      }
    }
  }
}

TEST(Latin1Paths, TextToBytesAsThePortableCode) {
  const kernels& portable = *detail::supported().front();
  std::mt19937 rng(17);
  for (const kernels* k : vector_paths()) {
    SCOPED_TRACE(k->name);
    for (std::size_t len = 0; len <= 100; ++len) {
      for (int pieces : {0, 0, 1, 1, 2, 5}) {
        const std::string text = random_text(rng, len, pieces);
        // Room for every byte: the same bytes, end and verdict.
        const converted want = from_utf8(portable, text, text.size());
        const converted got = from_utf8(*k, text, text.size());
        ASSERT_EQ(got.bad, want.bad) << testing::PrintToString(text);
        ASSERT_EQ(got.end, want.end) << testing::PrintToString(text);
        ASSERT_EQ(got.bytes, want.bytes) << testing::PrintToString(text);
        // Room for fewer bytes than the text holds: both stop past the limit.
        if (want.end > 0) {
          const std::size_t limit = rng() % want.end;
          EXPECT_GT(from_utf8(portable, text, limit).end, limit);
          EXPECT_GT(from_utf8(*k, text, limit).end, limit) << testing::PrintToString(text);
        }
      }
    }
  }
}

// A lead byte as the text's last, with the byte after it in memory a
// continuation: the text is refused, whatever its length.
TEST(Latin1Paths, ALeadAtTheEndIsRefusedThoughAByteFollowsInMemory) {
  const kernels& portable = *detail::supported().front();
  std::mt19937 rng(20);
  for (const kernels* k : detail::supported()) {
    SCOPED_TRACE(k->name);
    for (std::size_t len = 0; len <= 100; ++len) {
      for (const char* lead : {"\xc2", "\xc3"}) {
        const std::string before = random_text(rng, len, 0);
        const std::string memory = before + lead + "\xa9zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
        const std::string_view text(memory.data(), before.size() + 1);
        ASSERT_EQ(k->code_points(text), std::nullopt) << testing::PrintToString(text);
        const converted want = from_utf8(portable, text, text.size());
        const converted got = from_utf8(*k, text, text.size());
        ASSERT_TRUE(got.bad) << testing::PrintToString(text);
        ASSERT_EQ(got.end, want.end) << testing::PrintToString(text);
        ASSERT_EQ(got.bytes, want.bytes) << testing::PrintToString(text);
      }
    }
  }
}

// The public conversion of text already checked, on well-formed text with
// its code point count, and on what it must refuse.
TEST(Latin1Paths, CheckedTextConvertsAsThePortableCode) {
  const kernels& portable = *detail::supported().front();
  std::mt19937 rng(18);
  int well_formed = 0, refused = 0;
  for (std::size_t len = 0; len <= 100; ++len) {
    for (int pieces : {0, 1, 2, 3}) {
      const std::string text = random_text(rng, len, pieces);
      const utf8::check_result c = utf8::check(text, false);
      if (!c.ok) continue;
      ++well_formed;
      const converted want = from_utf8(portable, text, c.code_points);
      const bool want_ok = !want.bad && want.end == c.code_points;
      std::string out = "kept";
      ASSERT_EQ(append_from_utf8(out, text, c.code_points), want_ok)
          << testing::PrintToString(text);
      EXPECT_EQ(out, want_ok ? "kept" + want.bytes : "kept") << testing::PrintToString(text);
      refused += !want_ok;
    }
  }
  // Both outcomes were tried.
  EXPECT_GT(refused, 20);
  EXPECT_GT(well_formed - refused, 20);
}

// Long enough for the counters in byte lanes to be summed many times.
TEST(Latin1Paths, LongTextsAsThePortableCode) {
  const kernels& portable = *detail::supported().front();
  std::mt19937 rng(19);
  for (unsigned high : {0u, 50u, 100u}) {
    const std::string bytes = random_bytes(rng, 300000 + rng() % 64, high);
    std::string text(portable.utf8_size(bytes) + 1, '\0');
    portable.to_utf8(bytes, text.data());
    text.pop_back();
    for (const kernels* k : vector_paths()) {
      SCOPED_TRACE(k->name);
      EXPECT_EQ(k->utf8_size(bytes), text.size());
      EXPECT_EQ(k->code_points(text), bytes.size());
      const converted got = from_utf8(*k, text, bytes.size());
      EXPECT_FALSE(got.bad);
      EXPECT_EQ(got.end, bytes.size());
      EXPECT_TRUE(got.bytes == bytes);
      // Told of half the code points: stops soon after the limit.
      EXPECT_GT(from_utf8(*k, text, bytes.size() / 2).end, bytes.size() / 2);
    }
  }
}

}  // namespace
}  // namespace faultmux::pickle::latin1
