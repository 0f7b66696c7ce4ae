#include "mux/latin1.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include "mux/latin1_kernels.hpp"

namespace faultmux::pickle::latin1 {
namespace detail::portable {
namespace {

constexpr std::uint64_t ones = 0x0101010101010101ull;
constexpr std::uint64_t high = 0x8080808080808080ull;

std::uint64_t load(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// The high bit of each byte of w that is zero, and of no other byte.
std::uint64_t zero_bytes(std::uint64_t w) {
  return ~(((w & ~high) + ~high) | w) & high;
}

// Counts the high bits of many words without a popcount instruction (which
// the baseline x86-64 target lacks): byte lanes add up, and are summed
// before any of them can overflow.
class high_bit_counter {
 public:
  void add(std::uint64_t bits) {
    lanes_ += bits >> 7;
    if (++words_ == 255) flush();
  }
  std::size_t total() {
    flush();
    return total_;
  }

 private:
  void flush() {
    const std::uint64_t pairs =
        (lanes_ & 0x00ff00ff00ff00ffull) + ((lanes_ >> 8) & 0x00ff00ff00ff00ffull);
    total_ += static_cast<std::size_t>((pairs * 0x0001000100010001ull) >> 48);
    lanes_ = 0;
    words_ = 0;
  }
  std::uint64_t lanes_ = 0;
  int words_ = 0;
  std::size_t total_ = 0;
};

// Each byte's UTF-8 as it is stored: the byte itself, or its two bytes.
constexpr std::array<std::uint16_t, 256> utf8_of = [] {
  std::array<std::uint16_t, 256> t{};
  for (unsigned b = 0; b < 256; ++b)
    t[b] = static_cast<std::uint16_t>(
        b < 0x80 ? b : (0xc0 | (b >> 6)) | ((0x80 | (b & 0x3f)) << 8));  // little-endian order
  return t;
}();

}  // namespace

std::size_t utf8_size(std::string_view bytes) {
  high_bit_counter wide;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) wide.add(load(bytes.data() + i) & high);
  std::size_t n = bytes.size() + wide.total();
  for (; i < bytes.size(); ++i) n += static_cast<std::uint8_t>(bytes[i]) >> 7;
  return n;
}

void to_utf8(std::string_view bytes, char* out) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    if (end - p >= 8 && !(load(p) & high)) {  // ASCII stands for itself
      std::memcpy(out, p, 8);
      p += 8;
      out += 8;
      continue;
    }
    // Two bytes are always stored; an ASCII byte's second is overwritten by
    // the next one, so only the pointer depends on the byte.
    if (end - p >= 8) {
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const auto b = static_cast<std::uint8_t>(p[k]);
        std::memcpy(out, &utf8_of[b], 2);
        out += 1 + (b >> 7);
      }
      p += 8;
      continue;
    }
    for (; p < end; ++p) {
      const auto b = static_cast<std::uint8_t>(*p);
      std::memcpy(out, &utf8_of[b], 2);
      out += 1 + (b >> 7);
    }
  }
}

std::optional<std::size_t> code_points(std::string_view text, bool owed) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  high_bit_counter conts;
  std::uint64_t carry = owed ? 0x80 : 0;  // a lead byte ended the previous word
  std::uint64_t bad = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t w = load(p + i);
    if (!(w & high)) {  // ASCII: nothing may be owed a continuation
      bad |= carry;
      carry = 0;
      continue;
    }
    // Lead bytes (0xc2, 0xc3) and continuation bytes, by their high bits.
    const std::uint64_t lead = zero_bytes((w & (0xfe * ones)) ^ (0xc2 * ones));
    const std::uint64_t cont = zero_bytes((w & (0xc0 * ones)) ^ (0x80 * ones));
    // No other byte of 0x80 or above; every continuation follows a lead,
    // and every lead is followed by one.
    bad |= (w & high) ^ (lead | cont);
    bad |= cont ^ ((lead << 8) | carry);
    carry = lead >> 56;
    conts.add(cont);
  }
  if (bad) return std::nullopt;
  std::size_t tail_conts = 0;
  for (; i < n; ++i) {
    const auto b = static_cast<std::uint8_t>(p[i]);
    const bool lead = (b & 0xfe) == 0xc2, cont = (b & 0xc0) == 0x80;
    if ((b >= 0x80 && !lead && !cont) || cont != (carry != 0)) return std::nullopt;
    carry = lead ? 0x80 : 0;
    tail_conts += cont;
  }
  if (carry) return std::nullopt;  // a lead byte at the end
  return n - conts.total() - tail_conts;
}

char* from_utf8(std::string_view text, char* o, char* limit, bool& bad_text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  std::uint64_t bad = 0;
  // A word at a time while the byte after it is there to complete a lead.
  for (; i + 9 <= n; i += 8) {
    if (o > limit) break;
    const std::uint64_t w = load(p + i);
    if (!(w & high)) {  // ASCII stands for itself
      std::memcpy(o, p + i, 8);
      o += 8;
      continue;
    }
    const std::uint64_t next = load(p + i + 1);       // each byte's successor
    const std::uint64_t lead = w & (w << 1) & high;   // 0b11xxxxxx
    const std::uint64_t cont = w & ~(w << 1) & high;  // 0b10xxxxxx
    // Only 0xc2 and 0xc3 lead a code point below U+0100.
    bad |= lead & ~zero_bytes((w & (0xfe * ones)) ^ (0xc2 * ones));
    const std::uint64_t value = ((w & (0x03 * ones)) << 6) | (next & (0x3f * ones));
    const std::uint64_t pick = (lead >> 7) * 0xff;
    const std::uint64_t bytes = (value & pick) | (w & ~pick);
    const std::uint64_t keep = ~cont & high;
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      *o = static_cast<char>(bytes >> (8 * k));
      o += (keep >> (8 * k + 7)) & 1;
    }
  }
  if (o > limit) return o;  // more bytes than the caller said: the end tells it
  for (; i < n; ++i) {
    const auto b = static_cast<std::uint8_t>(p[i]);
    if (b >= 0xc0) {
      bad |= (b & 0xfe) != 0xc2 || i + 1 == n;
      const auto next = static_cast<std::uint8_t>(i + 1 < n ? p[i + 1] : 0);
      *o++ = static_cast<char>(((b & 0x03) << 6) | (next & 0x3f));
    } else if ((b & 0xc0) != 0x80) {
      *o++ = static_cast<char>(b);
    }
  }
  if (bad) bad_text = true;
  return o;
}

}  // namespace detail::portable

namespace detail {

std::vector<const kernels*> supported() {
  static constexpr kernels word_at_a_time{
      "portable", portable::utf8_size, portable::to_utf8,
      [](std::string_view text) { return portable::code_points(text, false); },
      portable::from_utf8};
  std::vector<const kernels*> all{&word_at_a_time};
  for (const kernels* k : vector_kernels()) all.push_back(k);
  return all;
}

const kernels& fastest() {
  static const kernels& chosen = *supported().back();
  return chosen;
}

}  // namespace detail

std::size_t utf8_size(std::string_view bytes) {
  return detail::fastest().utf8_size(bytes);
}

void to_utf8(std::string_view bytes, char* out) {
  detail::fastest().to_utf8(bytes, out);
}

std::optional<std::size_t> code_points(std::string_view text) {
  return detail::fastest().code_points(text);
}

bool append_from_utf8(std::string& out, std::string_view text) {
  const std::optional<std::size_t> count = code_points(text);
  return count && append_from_utf8(out, text, *count);
}

bool append_from_utf8(std::string& out, std::string_view text, std::size_t count) {
  const std::size_t at = out.size();
  // Room past the end: the conversion stores whole words, kept or not.
  out.resize(at + count + detail::from_utf8_slack);
  char* start = out.data() + at;
  bool bad = false;
  const char* end = detail::fastest().from_utf8(text, start, start + count, bad);
  if (bad || end != start + count) {
    out.resize(at);
    return false;
  }
  out.resize(at + count);
  return true;
}

}  // namespace faultmux::pickle::latin1
