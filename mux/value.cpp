#include "mux/value.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <ostream>

#include <fmt/format.h>

#include "mux/latin1.hpp"

namespace faultmux::pickle {
namespace {

// Drops sign-extension bytes that carry no information, and the lone 0x00
// of zero, so equal ints have equal bytes.
void normalise_le(std::string& le) {
  while (le.size() > 1) {
    auto last = static_cast<std::uint8_t>(le.back());
    auto prev = static_cast<std::uint8_t>(le[le.size() - 2]);
    if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80))) {
      le.pop_back();
    } else {
      break;
    }
  }
  if (le.size() == 1 && le[0] == '\0') le.clear();
}

// Decimal digits of a two's complement little-endian int of any size.
std::string le_to_decimal(const std::string& le) {
  std::vector<std::uint8_t> mag(le.begin(), le.end());
  bool negative = !mag.empty() && (mag.back() & 0x80);
  if (negative) {
    unsigned carry = 1;
    for (auto& b : mag) {
      unsigned t = static_cast<std::uint8_t>(~b) + carry;
      b = static_cast<std::uint8_t>(t);
      carry = t >> 8;
    }
  }
  std::string digits;
  auto nonzero = [&] {
    for (auto b : mag)
      if (b) return true;
    return false;
  };
  while (nonzero()) {
    unsigned rem = 0;
    for (std::size_t i = mag.size(); i-- > 0;) {
      unsigned cur = rem * 256 + mag[i];
      mag[i] = static_cast<std::uint8_t>(cur / 10);
      rem = cur % 10;
    }
    digits.push_back(static_cast<char>('0' + rem));
  }
  if (digits.empty()) digits.push_back('0');
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

void put_text(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t cp = 0;
    std::size_t n = utf8::decode(s, pos, cp, true);
    if (n == 0) {  // not text at all: flag the byte rather than guess
      out += fmt::format("\\?{:02x}", static_cast<std::uint8_t>(s[pos]));
      ++pos;
      continue;
    }
    pos += n;
    if (cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\') {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x100) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    } else {
      out += fmt::format("\\U{:08x}", static_cast<unsigned>(cp));
    }
  }
  out.push_back('"');
}

void put_bytes(std::string& out, std::string_view s) {
  out += "b\"";
  for (char c : s) {
    auto b = static_cast<std::uint8_t>(c);
    if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
      out.push_back(c);
    } else {
      out += fmt::format("\\x{:02x}", b);
    }
  }
  out.push_back('"');
}

void put(std::string& out, const value& v);

void put_items(std::string& out, const std::vector<value>& items) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    put(out, items[i]);
  }
}

void put_pairs(std::string& out, const pairs& items) {
  out.push_back('{');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    put(out, items[i].first);
    out += ": ";
    put(out, items[i].second);
  }
  out.push_back('}');
}

void put(std::string& out, const value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, none_t>) {
          out += "None";
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "True" : "False";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out += std::to_string(x);
        } else if constexpr (std::is_same_v<T, big_int>) {
          out += le_to_decimal(x.le);
        } else if constexpr (std::is_same_v<T, double>) {
          out += fmt::format("float:{:016x}", std::bit_cast<std::uint64_t>(x));
        } else if constexpr (std::is_same_v<T, text>) {
          put_text(out, x.utf8);
        } else if constexpr (std::is_same_v<T, bytes>) {
          put_bytes(out, x.data);
        } else if constexpr (std::is_same_v<T, tuple>) {
          out.push_back('(');
          put_items(out, x.items);
          out.push_back(')');
        } else if constexpr (std::is_same_v<T, list>) {
          out.push_back('[');
          put_items(out, x.items);
          out.push_back(']');
        } else if constexpr (std::is_same_v<T, dict>) {
          put_pairs(out, x.items);
        } else if constexpr (std::is_same_v<T, kwargs>) {
          out += "Kwargs(";
          put_pairs(out, x.items);
          out.push_back(')');
        } else if constexpr (std::is_same_v<T, call_error>) {
          out += "CallError(";
          put_text(out, x.message);
          out.push_back(')');
        } else if constexpr (std::is_same_v<T, blob>) {
          out += "Blob(";
          put_bytes(out, x.data);
          out.push_back(')');
        } else if constexpr (std::is_same_v<T, secret>) {
          out += "Secret(";
          put_text(out, x.utf8);
          out.push_back(')');
        } else if constexpr (std::is_same_v<T, context_ref>) {
          out += fmt::format("Context({}, ", x.id);
          if (x.name) {
            put_text(out, *x.name);
          } else {
            out += "None";
          }
          out.push_back(')');
        } else if constexpr (std::is_same_v<T, sender_ref>) {
          out += fmt::format("Sender({}, {})", x.context_id, x.handle);
        }
      },
      v.data);
}

}  // namespace

const char* value::type_name() const {
  static constexpr const char* names[] = {
      "None", "bool", "int",    "int",       "float", "str",    "bytes",   "tuple",
      "list", "dict", "Kwargs", "CallError", "Blob",  "Secret", "Context", "Sender"};
  static_assert(std::size(names) == std::variant_size_v<variant>);
  return names[data.index()];
}

bool operator==(const value& a, const value& b) {
  if (a.data.index() != b.data.index()) return false;
  if (const double* x = std::get_if<double>(&a.data)) {
    return std::bit_cast<std::uint64_t>(*x) ==
           std::bit_cast<std::uint64_t>(std::get<double>(b.data));
  }
  return a.data == b.data;
}

value value::from_uint64(std::uint64_t v) {
  std::string le(9, '\0');
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>(v >> (8 * i));
  return int_from_le(le);
}

value int_from_le(std::string_view bytes_le) {
  std::string le(bytes_le);
  normalise_le(le);
  if (le.size() > 8) return big_int{std::move(le)};
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < le.size(); ++i) {
    u |= std::uint64_t{static_cast<std::uint8_t>(le[i])} << (8 * i);
  }
  if (!le.empty() && (le.back() & 0x80) && le.size() < 8) u |= ~std::uint64_t{0} << (8 * le.size());
  return static_cast<std::int64_t>(u);
}

std::string int_to_le(std::int64_t v) {
  std::string le(8, '\0');
  auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>(u >> (8 * i));
  normalise_le(le);
  return le;
}

std::string to_string(const value& v) {
  std::string out;
  put(out, v);
  return out;
}

std::ostream& operator<<(std::ostream& os, const value& v) {
  return os << to_string(v);
}

namespace utf8 {

std::size_t ascii_end(std::string_view s, std::size_t pos) {
  constexpr std::uint64_t high_bits = 0x8080808080808080ull;
  for (; pos + 8 <= s.size(); pos += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, s.data() + pos, sizeof word);
    if (word & high_bits) break;
  }
  while (pos < s.size() && static_cast<std::uint8_t>(s[pos]) < 0x80) ++pos;
  return pos;
}

std::size_t decode(std::string_view s, std::size_t pos, char32_t& cp, bool allow_surrogates) {
  auto at = [&](std::size_t i) { return static_cast<std::uint8_t>(s[pos + i]); };
  auto cont = [&](std::size_t i) { return pos + i < s.size() && (at(i) & 0xc0) == 0x80; };
  std::uint8_t b0 = at(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 < 0xc2) return 0;  // a continuation byte, or an overlong 2-byte form
  if (b0 < 0xe0) {
    if (!cont(1)) return 0;
    cp = (char32_t{b0 & 0x1fu} << 6) | (at(1) & 0x3fu);
    return 2;
  }
  if (b0 < 0xf0) {
    if (!cont(1) || !cont(2)) return 0;
    cp = (char32_t{b0 & 0x0fu} << 12) | (char32_t{at(1) & 0x3fu} << 6) | (at(2) & 0x3fu);
    if (cp < 0x800) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff && !allow_surrogates) return 0;
    return 3;
  }
  if (b0 < 0xf5) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    cp = (char32_t{b0 & 0x07u} << 18) | (char32_t{at(1) & 0x3fu} << 12) |
         (char32_t{at(2) & 0x3fu} << 6) | (at(3) & 0x3fu);
    if (cp < 0x10000 || cp > 0x10ffff) return 0;
    return 4;
  }
  return 0;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

check_result check(std::string_view s, bool allow_surrogates) {
  // Text of latin-1 code points (ASCII, and bytes pickled as text) is
  // checked a word at a time; anything else code point by code point.
  if (std::optional<std::size_t> n = latin1::code_points(s)) return {true, *n, 0};
  check_result r;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t ascii = ascii_end(s, pos);
    r.code_points += ascii - pos;
    pos = ascii;
    if (pos == s.size()) break;
    char32_t cp = 0;
    std::size_t n = decode(s, pos, cp, allow_surrogates);
    if (n == 0) {
      r.ok = false;
      r.bad_offset = pos;
      return r;
    }
    pos += n;
    ++r.code_points;
  }
  return r;
}

}  // namespace utf8

}  // namespace faultmux::pickle
