// The latin-1 conversions a block of 16 or 32 bytes at a time on x86-64:
// SSE2, which every x86-64 CPU has, to count and check; SSSE3's byte
// shuffle for the conversions, whose output positions depend on the bytes
// (it packs 8 bytes at a time by a table indexed by which of them stay, as
// a mask); AVX2 to check and convert text 32 bytes at a time. Tails shorter
// than a block go to the portable code.
#include <array>
#include <cstdint>

#include "mux/latin1_kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace faultmux::pickle::latin1::detail {

#if defined(__x86_64__)
namespace {

// For each mask of 8 bits, a shuffle gathering the bytes that stay to the
// front of a vector, and how many stay.
struct pack_table {
  alignas(16) std::array<std::array<std::uint8_t, 16>, 256> shuffle;
  std::array<std::uint8_t, 256> size;
};

// Decoding: bit k of the mask says byte k of 8 stays.
constexpr pack_table keep_bytes = [] {
  pack_table t{};
  for (unsigned m = 0; m < 256; ++m) {
    unsigned n = 0;
    for (unsigned k = 0; k < 8; ++k)
      if (m >> k & 1) t.shuffle[m][n++] = static_cast<std::uint8_t>(k);
    for (unsigned k = n; k < 16; ++k) t.shuffle[m][k] = 0x80;  // zero
    t.size[m] = static_cast<std::uint8_t>(n);
  }
  return t;
}();

// Encoding: 8 bytes as 16, byte 2k the first of byte k's UTF-8 and 2k + 1
// its continuation, which stays when bit k of the mask says byte k is 0x80
// or above.
constexpr pack_table keep_pairs = [] {
  pack_table t{};
  for (unsigned m = 0; m < 256; ++m) {
    unsigned n = 0;
    for (unsigned k = 0; k < 8; ++k) {
      t.shuffle[m][n++] = static_cast<std::uint8_t>(2 * k);
      if (m >> k & 1) t.shuffle[m][n++] = static_cast<std::uint8_t>(2 * k + 1);
    }
    for (unsigned k = n; k < 16; ++k) t.shuffle[m][k] = 0x80;
    t.size[m] = static_cast<std::uint8_t>(n);
  }
  return t;
}();

__m128i load16(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

void store16(char* p, __m128i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
}

__m128i bytes_of(std::uint8_t b) {
  return _mm_set1_epi8(static_cast<char>(b));
}

// The sum of the 16 byte lanes of v.
std::size_t lane_sum(__m128i v) {
  const __m128i pairs = _mm_sad_epu8(v, _mm_setzero_si128());
  return static_cast<std::size_t>(_mm_cvtsi128_si64(pairs)) +
         static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(pairs, pairs)));
}

std::size_t utf8_size_sse2(std::string_view bytes) {
  const char* p = bytes.data();
  const std::size_t n = bytes.size();
  std::size_t i = 0, wide = 0;
  while (i + 16 <= n) {
    // Byte lanes count up to 255 blocks, then are summed.
    __m128i count = _mm_setzero_si128();
    for (int k = 0; k < 255 && i + 16 <= n; ++k, i += 16)
      count = _mm_sub_epi8(count, _mm_cmplt_epi8(load16(p + i), _mm_setzero_si128()));
    wide += lane_sum(count);
  }
  return i + wide + portable::utf8_size(bytes.substr(i));
}

// Text of latin-1 code points, checked a block at a time in vector lanes:
// no byte of 0x80 or above but leads 0xc2, 0xc3 and continuations
// 0x80..0xbf, each continuation right after a lead and each lead right
// before one. `owed` comes out as the lead lanes of the last block.
struct text_check {
  __m128i error = _mm_setzero_si128(), owed = _mm_setzero_si128();
  std::size_t conts = 0;
};

void check_blocks(const char* p, std::size_t n, std::size_t& i, text_check& c) {
  while (i + 16 <= n) {
    // Byte lanes count continuations for up to 255 blocks, then are summed.
    __m128i count = _mm_setzero_si128();
    for (int k = 0; k < 255 && i + 16 <= n; ++k, i += 16) {
      const __m128i v = load16(p + i);
      const __m128i lead = _mm_cmpeq_epi8(_mm_and_si128(v, bytes_of(0xfe)), bytes_of(0xc2));
      const __m128i cont = _mm_cmplt_epi8(v, bytes_of(0xc0));  // signed: 0x80..0xbf
      const __m128i wide = _mm_cmplt_epi8(v, _mm_setzero_si128());
      // The lead lanes one byte on: where a continuation must be.
      const __m128i after = _mm_or_si128(_mm_slli_si128(lead, 1), _mm_srli_si128(c.owed, 15));
      c.error = _mm_or_si128(c.error, _mm_andnot_si128(_mm_or_si128(lead, cont), wide));
      c.error = _mm_or_si128(c.error, _mm_xor_si128(cont, after));
      count = _mm_sub_epi8(count, cont);
      c.owed = lead;
    }
    c.conts += lane_sum(count);
  }
}

std::optional<std::size_t> code_points_sse2(std::string_view text) {
  std::size_t i = 0;
  text_check c;
  check_blocks(text.data(), text.size(), i, c);
  if (_mm_movemask_epi8(c.error)) return std::nullopt;
  const bool owed = _mm_movemask_epi8(c.owed) >> 15;
  const std::optional<std::size_t> rest = portable::code_points(text.substr(i), owed);
  if (!rest) return std::nullopt;
  return i - c.conts + *rest;
}

__attribute__((target("ssse3"))) __m128i pack(__m128i v, const pack_table& t, unsigned mask) {
  return _mm_shuffle_epi8(v, _mm_load_si128(reinterpret_cast<const __m128i*>(&t.shuffle[mask])));
}

// Stores the bytes of v's low half that the mask `keep` marks, packed at o;
// returns their end (8 bytes are stored whatever it is).
__attribute__((target("ssse3"))) char* put_kept(char* o, __m128i v, unsigned keep) {
  _mm_storel_epi64(reinterpret_cast<__m128i*>(o), pack(v, keep_bytes, keep));
  return o + keep_bytes.size[keep];
}

__attribute__((target("ssse3"))) void to_utf8_ssse3(std::string_view bytes, char* out) {
  const char* p = bytes.data();
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  // Each half-block's 16 bytes are stored whole: the block after it (every
  // byte of which is written as one byte or two) covers the excess.
  for (; i + 32 <= n; i += 16) {
    const __m128i v = load16(p + i);
    const auto wide = static_cast<unsigned>(_mm_movemask_epi8(v));
    if (!wide) {  // ASCII stands for itself
      store16(out, v);
      out += 16;
      continue;
    }
    // 0xc2 or 0xc3, then 0x80 | the low six bits; ASCII bytes as they are.
    const __m128i lead =
        _mm_or_si128(_mm_and_si128(_mm_srli_epi16(v, 6), bytes_of(0x03)), bytes_of(0xc0));
    const __m128i cont = _mm_or_si128(_mm_and_si128(v, bytes_of(0x3f)), bytes_of(0x80));
    const __m128i is_wide = _mm_cmplt_epi8(v, _mm_setzero_si128());
    const __m128i first = _mm_or_si128(_mm_and_si128(is_wide, lead), _mm_andnot_si128(is_wide, v));
    store16(out, pack(_mm_unpacklo_epi8(first, cont), keep_pairs, wide & 0xff));
    out += keep_pairs.size[wide & 0xff];
    store16(out, pack(_mm_unpackhi_epi8(first, cont), keep_pairs, wide >> 8));
    out += keep_pairs.size[wide >> 8];
  }
  portable::to_utf8(bytes.substr(i), out);
}

__attribute__((target("ssse3"))) char* from_utf8_ssse3(std::string_view text, char* o, char* limit,
                                                       bool& bad_text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  unsigned bad = 0;
  // A block at a time while the byte after it is there to complete a lead.
  for (; i + 17 <= n && o <= limit; i += 16) {
    const __m128i v = load16(p + i);
    if (!_mm_movemask_epi8(v)) {  // ASCII stands for itself
      store16(o, v);
      o += 16;
      continue;
    }
    const __m128i next = load16(p + i + 1);                  // each byte's successor
    const __m128i cont = _mm_cmplt_epi8(v, bytes_of(0xc0));  // signed: 0x80..0xbf
    const __m128i lead = _mm_andnot_si128(cont, _mm_cmplt_epi8(v, _mm_setzero_si128()));
    // Only 0xc2 and 0xc3 lead a code point below U+0100.
    const __m128i latin = _mm_cmpeq_epi8(_mm_and_si128(v, bytes_of(0xfe)), bytes_of(0xc2));
    bad |= static_cast<unsigned>(_mm_movemask_epi8(_mm_andnot_si128(latin, lead)));
    const __m128i value = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, bytes_of(0x03)), 6),
                                       _mm_and_si128(next, bytes_of(0x3f)));
    const __m128i bytes = _mm_or_si128(_mm_and_si128(lead, value), _mm_andnot_si128(lead, v));
    const unsigned keep = ~static_cast<unsigned>(_mm_movemask_epi8(cont)) & 0xffff;
    o = put_kept(o, bytes, keep & 0xff);
    o = put_kept(o, _mm_srli_si128(bytes, 8), keep >> 8);
  }
  if (bad) bad_text = true;
  return portable::from_utf8(text.substr(i), o, limit, bad_text);
}

#define FAULTMUX_AVX2 __attribute__((target("avx2")))

FAULTMUX_AVX2 __m256i load32(const char* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

FAULTMUX_AVX2 __m256i bytes32_of(std::uint8_t b) {
  return _mm256_set1_epi8(static_cast<char>(b));
}

FAULTMUX_AVX2 std::size_t lane_sum(__m256i v) {
  const __m256i quads = _mm256_sad_epu8(v, _mm256_setzero_si256());
  const __m128i pairs =
      _mm_add_epi64(_mm256_castsi256_si128(quads), _mm256_extracti128_si256(quads, 1));
  return static_cast<std::size_t>(_mm_cvtsi128_si64(pairs)) +
         static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(pairs, pairs)));
}

// check_blocks thirty-two bytes at a time.
FAULTMUX_AVX2 std::optional<std::size_t> code_points_avx2(std::string_view text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0, conts = 0;
  __m256i error = _mm256_setzero_si256(), owed = _mm256_setzero_si256();
  while (i + 32 <= n) {
    __m256i count = _mm256_setzero_si256();
    for (int k = 0; k < 255 && i + 32 <= n; ++k, i += 32) {
      const __m256i v = load32(p + i);
      const __m256i lead =
          _mm256_cmpeq_epi8(_mm256_and_si256(v, bytes32_of(0xfe)), bytes32_of(0xc2));
      const __m256i cont = _mm256_cmpgt_epi8(bytes32_of(0xc0), v);  // signed: 0x80..0xbf
      const __m256i wide = _mm256_cmpgt_epi8(_mm256_setzero_si256(), v);
      // The lead lanes one byte on, across the two halves and from the last block.
      const __m256i after =
          _mm256_alignr_epi8(lead, _mm256_permute2x128_si256(owed, lead, 0x21), 15);
      error = _mm256_or_si256(error, _mm256_andnot_si256(_mm256_or_si256(lead, cont), wide));
      error = _mm256_or_si256(error, _mm256_xor_si256(cont, after));
      count = _mm256_sub_epi8(count, cont);
      owed = lead;
    }
    conts += lane_sum(count);
  }
  if (!_mm256_testz_si256(error, error)) return std::nullopt;
  const bool carry = static_cast<unsigned>(_mm256_movemask_epi8(owed)) >> 31;
  const std::optional<std::size_t> rest = portable::code_points(text.substr(i), carry);
  if (!rest) return std::nullopt;
  return i - conts + *rest;
}

// from_utf8_ssse3 thirty-two bytes at a time, packed a quarter at a time.
FAULTMUX_AVX2 char* from_utf8_avx2(std::string_view text, char* o, char* limit, bool& bad_text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  __m256i bad = _mm256_setzero_si256();
  for (; i + 33 <= n && o <= limit; i += 32) {
    const __m256i v = load32(p + i);
    if (!_mm256_movemask_epi8(v)) {  // ASCII stands for itself
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), v);
      o += 32;
      continue;
    }
    const __m256i next = load32(p + i + 1);
    const __m256i cont = _mm256_cmpgt_epi8(bytes32_of(0xc0), v);  // signed: 0x80..0xbf
    const __m256i lead = _mm256_andnot_si256(cont, _mm256_cmpgt_epi8(_mm256_setzero_si256(), v));
    const __m256i latin =
        _mm256_cmpeq_epi8(_mm256_and_si256(v, bytes32_of(0xfe)), bytes32_of(0xc2));
    bad = _mm256_or_si256(bad, _mm256_andnot_si256(latin, lead));
    const __m256i value =
        _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(v, bytes32_of(0x03)), 6),
                        _mm256_and_si256(next, bytes32_of(0x3f)));
    const __m256i bytes = _mm256_blendv_epi8(v, value, lead);
    const auto keep = ~static_cast<std::uint32_t>(_mm256_movemask_epi8(cont));
    const __m128i low = _mm256_castsi256_si128(bytes), high = _mm256_extracti128_si256(bytes, 1);
    o = put_kept(o, low, keep & 0xff);
    o = put_kept(o, _mm_srli_si128(low, 8), keep >> 8 & 0xff);
    o = put_kept(o, high, keep >> 16 & 0xff);
    o = put_kept(o, _mm_srli_si128(high, 8), keep >> 24);
  }
  if (!_mm256_testz_si256(bad, bad)) bad_text = true;
  return portable::from_utf8(text.substr(i), o, limit, bad_text);
}

#undef FAULTMUX_AVX2

constexpr kernels sse2{"sse2", utf8_size_sse2, portable::to_utf8, code_points_sse2,
                       portable::from_utf8};
constexpr kernels ssse3{"ssse3", utf8_size_sse2, to_utf8_ssse3, code_points_sse2, from_utf8_ssse3};
constexpr kernels avx2{"avx2", utf8_size_sse2, to_utf8_ssse3, code_points_avx2, from_utf8_avx2};

}  // namespace

std::vector<const kernels*> vector_kernels() {
  __builtin_cpu_init();
  std::vector<const kernels*> all{&sse2};
  if (__builtin_cpu_supports("ssse3")) all.push_back(&ssse3);
  if (__builtin_cpu_supports("avx2")) all.push_back(&avx2);
  return all;
}

#else

std::vector<const kernels*> vector_kernels() {
  return {};
}

#endif

}  // namespace faultmux::pickle::latin1::detail
