// The values faultmux's calls carry: exactly the Python objects Mitogen's
// unpickler accepts (docs/protocol.md, Calls), as a plain C++ tree with value
// semantics. mux/pickle.hpp turns them into bytes and back.
#pragma once

#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace faultmux::pickle {

struct value;

// Python's None.
struct none_t {
  bool operator==(const none_t&) const = default;
};
inline constexpr none_t none{};

// A Python int outside int64, as the bytes pickle's LONG1 carries: two's
// complement, little-endian, minimal. Never holds a value that fits int64
// (int_from_le() keeps that so), so every int has one representation.
struct big_int {
  std::string le;
  bool operator==(const big_int&) const = default;
};

// str. UTF-8, where a lone surrogate is allowed in the 3-byte form Python's
// "surrogatepass" writes, as pickle's BINUNICODE carries it.
struct text {
  std::string utf8;
  bool operator==(const text&) const = default;
};

// bytes (and a Python 2 peer's str).
struct bytes {
  std::string data;
  bool operator==(const bytes&) const = default;
};

struct tuple {
  std::vector<value> items;
  bool operator==(const tuple&) const = default;
};

struct list {
  std::vector<value> items;
  bool operator==(const list&) const = default;
};

// Key/value pairs in insertion order. Decoding merges equal keys as a Python
// dict does (first position, last value); encoding writes them as given.
using pairs = std::vector<std::pair<value, value>>;

struct dict {
  pairs items;
  friend bool operator==(const dict& a, const dict& b);  // below: std::pair needs value complete
};

// mitogen.core.Kwargs: a dict whose bytes keys come out as text.
struct kwargs {
  pairs items;
  friend bool operator==(const kwargs& a, const kwargs& b);
};

// mitogen.core.CallError: the text of a remote exception (under 10000 code
// points, as _unpickle_call_error demands).
struct call_error {
  std::string message;
  bool operator==(const call_error&) const = default;
};

// mitogen.core.Blob: bytes that Mitogen logs only by length.
struct blob {
  std::string data;
  bool operator==(const blob&) const = default;
};

// mitogen.core.Secret: text that Mitogen never logs.
struct secret {
  std::string utf8;
  bool operator==(const secret&) const = default;
};

// mitogen.core.Context as _unpickle_context(context_id, name) rebuilds it.
// Mitogen drops an empty name, so decoding never yields Some("").
struct context_ref {
  std::int64_t id = 0;
  std::optional<std::string> name;
  bool operator==(const context_ref&) const = default;
};

// mitogen.core.Sender as _unpickle_sender(context_id, dst_handle) rebuilds it.
struct sender_ref {
  std::int64_t context_id = 0;
  std::int64_t handle = 0;
  bool operator==(const sender_ref&) const = default;
};

template <class T, class... U>
concept one_of = (std::same_as<T, U> || ...);

// One value. Build with implicit conversions (value v = pickle::tuple{{1,
// "a", none}}), inspect with is<T>() / get<T>() / kind().
struct value {
  using variant =
      std::variant<none_t, bool, std::int64_t, big_int, double, text, bytes, tuple, list, dict,
                   kwargs, call_error, blob, secret, context_ref, sender_ref>;
  // Indices of `variant`, for switch statements.
  enum class kind_t : std::uint8_t {
    none,
    boolean,
    integer,
    big_integer,
    floating,
    text,
    bytes,
    tuple,
    list,
    dict,
    kwargs,
    call_error,
    blob,
    secret,
    context,
    sender
  };

  variant data;

  value() = default;
  value(none_t) {}
  value(bool b) : data(b) {}
  template <std::integral I>
  requires(!one_of<I, bool, char, char8_t, char16_t, char32_t, wchar_t>) value(I i) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
      if (i > static_cast<I>(std::numeric_limits<std::int64_t>::max())) {
        *this = from_uint64(i);
        return;
      }
    }
    data = static_cast<std::int64_t>(i);
  }
  value(double d) : data(d) {}
  // A string literal is text, as in Python 3; std::string must say which.
  value(const char* s) : data(text{s}) {}
  template <class T>
  requires one_of<T, big_int, text, bytes, tuple, list, dict, kwargs, call_error, blob, secret,
                  context_ref, sender_ref>
  value(T v) : data(std::move(v)) {}

  kind_t kind() const { return static_cast<kind_t>(data.index()); }
  template <class T>
  bool is() const {
    return std::holds_alternative<T>(data);
  }
  template <class T>
  const T* get() const {
    return std::get_if<T>(&data);
  }
  template <class T>
  T* get() {
    return std::get_if<T>(&data);
  }
  // The Python type name ("int", "Kwargs", ...), for error messages.
  const char* type_name() const;

  // Structural equality; floats compare by bit pattern, so NaN equals itself
  // and 0.0 differs from -0.0 (what a codec round trip must preserve).
  friend bool operator==(const value& a, const value& b);

 private:
  static value from_uint64(std::uint64_t v);
};

inline bool operator==(const dict& a, const dict& b) {
  return a.items == b.items;
}
inline bool operator==(const kwargs& a, const kwargs& b) {
  return a.items == b.items;
}

// The int that minimal or non-minimal two's complement little-endian bytes
// stand for: an int64 when it fits, else a normalised big_int.
value int_from_le(std::string_view le);
// Minimal two's complement little-endian bytes of v ("" for 0), as Python's
// pickle.encode_long writes them.
std::string int_to_le(std::int64_t v);

// A one-line description, also written by tests/pickle/vectors.py for
// Python objects, so the two sides compare as strings: ints in decimal,
// floats as their IEEE bits, text with \x/\u/\U escapes, bytes with \x.
std::string to_string(const value& v);
std::ostream& operator<<(std::ostream& os, const value& v);

// The UTF-8 flavours Python reads and writes.
namespace utf8 {
// The end of the run of ASCII bytes that starts at s[pos]: where the first
// byte of 0x80 or above is, or s.size(). A word at a time, since call
// bodies are mostly ASCII and can be megabytes.
std::size_t ascii_end(std::string_view s, std::size_t pos);
// Decodes one code point at s[pos], returning its length, or 0 if the bytes
// there are not UTF-8 (overlong, truncated, above U+10FFFF, or a surrogate
// unless allow_surrogates, which is Python's "surrogatepass").
std::size_t decode(std::string_view s, std::size_t pos, char32_t& cp, bool allow_surrogates);
// Appends the UTF-8 encoding of cp (surrogates in their 3-byte form).
void append(std::string& out, char32_t cp);
// Code points in s, or the byte offset of the first bad sequence.
struct check_result {
  bool ok = true;
  std::size_t code_points = 0;
  std::size_t bad_offset = 0;
};
check_result check(std::string_view s, bool allow_surrogates);
}  // namespace utf8

}  // namespace faultmux::pickle
