// The one writer of faultmux event lines: {"t": CLOCK_MONOTONIC seconds,
// "pid", "role", "event", fields...} and a newline. Strings are escaped and
// bytes that are not UTF-8 become U+FFFD, so any peer's bytes can be logged.
//
// Two buffers: a fixed one (no allocation, no locks, no errno changes:
// async-signal-safe, for the syscall shim, which runs inside interposed
// calls of any program) and a std::string (for everyone else). With the
// fixed buffer a line that does not fit is cut at a field or character
// boundary and still ends in ,"truncated":true}\n: it always parses.
#pragma once

#include <time.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace faultmux::wire {

// Seconds and nanoseconds on CLOCK_MONOTONIC: the clock of every event.
inline timespec event_clock() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts;
}

// The same instant as seconds, for code that compares times.
inline double event_seconds(timespec ts = event_clock()) {
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are
// not UTF-8 (overlong, surrogate, past U+10FFFF, cut short).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

// A caller's array: never allocates. Holds back `reserve` bytes so a cut
// line can always be closed. At least min_fixed_line bytes, so the head
// (t, pid) always fits.
inline constexpr std::size_t min_fixed_line = 128;

class fixed_line_buffer {
 public:
  fixed_line_buffer(char* data, std::size_t cap) : data_(data), cap_(cap) {}
  bool room(std::size_t n, std::size_t reserve) const { return len_ + n + reserve <= cap_; }
  void put(const char* s, std::size_t n) {
    if (len_ + n > cap_) return;  // callers check room(); never overrun
    std::memcpy(data_ + len_, s, n);
    len_ += n;
  }
  std::size_t size() const { return len_; }
  void cut(std::size_t n) { len_ = n; }
  std::string_view view() const { return std::string_view(data_, len_); }

 private:
  char* data_;
  std::size_t cap_;
  std::size_t len_ = 0;
};

// A growing std::string: every field fits.
class string_line_buffer {
 public:
  bool room(std::size_t, std::size_t) const { return true; }
  void put(const char* s, std::size_t n) { s_.append(s, n); }
  std::size_t size() const { return s_.size(); }
  void cut(std::size_t n) { s_.resize(n); }
  std::string_view view() const { return s_; }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

// Builds one line: head(), then field()s in order, then finish(). A field
// that does not fit is left out whole, except a string value, which is cut
// at a character boundary; either way the line is marked truncated.
template <typename Buffer>
class basic_event_line {
 public:
  template <typename... Args>
  explicit basic_event_line(Args&&... args) : buf_(static_cast<Args&&>(args)...) {}

  // {"t":...,"pid":...,"role":... - callers add "event" next (the shim puts
  // its "index" first, as it always has).
  void begin(timespec t, std::int64_t pid, std::string_view role) {
    put("{\"t\":");
    put_u64(static_cast<std::uint64_t>(t.tv_sec), 1);
    put(".");
    put_u64(static_cast<std::uint64_t>(t.tv_nsec), 9);
    field("pid", pid);
    field("role", role);
  }
  // The usual head: t, pid, role, event.
  void head(timespec t, std::int64_t pid, std::string_view role, std::string_view event) {
    begin(t, pid, role);
    field("event", event);
  }

  void field(std::string_view key, std::string_view v) {
    if (!open_field(key, 2)) return;
    put("\"");
    for (std::size_t i = 0; i < v.size();) {
      char esc[6];
      std::string_view piece;
      std::size_t step = 1;
      auto c = static_cast<unsigned char>(v[i]);
      if (c == '"' || c == '\\') {
        esc[0] = '\\';
        esc[1] = static_cast<char>(c);
        piece = std::string_view(esc, 2);
      } else if (c < 0x20) {
        const char* hex = "0123456789abcdef";
        esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
        esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
        piece = std::string_view(esc, 6);
      } else if (std::size_t n = utf8_sequence_length(v, i); n > 0) {
        piece = v.substr(i, n);
        step = n;
      } else {
        piece = "\xef\xbf\xbd";  // U+FFFD
      }
      if (!buf_.room(piece.size() + 1, tail)) {  // + the closing quote
        truncated_ = true;
        break;
      }
      put(piece);
      i += step;
    }
    put("\"");
  }
  void field(std::string_view key, const char* v) { field(key, std::string_view(v)); }
  void field(std::string_view key, const std::string& v) { field(key, std::string_view(v)); }
  void field(std::string_view key, bool v) { scalar(key, v ? "true" : "false"); }
  void field(std::string_view key, std::int64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    scalar(key, std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp)));
  }
  void field(std::string_view key, std::uint64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    scalar(key, std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp)));
  }
  template <typename I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, std::int64_t> &&
           !std::is_same_v<I, std::uint64_t>) void field(std::string_view key, I v) {
    if constexpr (std::is_signed_v<I>)
      field(key, static_cast<std::int64_t>(v));
    else
      field(key, static_cast<std::uint64_t>(v));
  }
  // The shortest text that reads back as `v`, always with a '.' or an
  // exponent (so it stays a float); null for NaN and infinities.
  void field(std::string_view key, double v) {
    if (!std::isfinite(v)) return scalar(key, "null");
    char tmp[40];
    auto r = std::to_chars(tmp, tmp + sizeof tmp - 2, v);
    std::string_view s(tmp, static_cast<std::size_t>(r.ptr - tmp));
    if (s.find_first_of(".e") == std::string_view::npos) {
      *r.ptr++ = '.';
      *r.ptr++ = '0';
      s = std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp));
    }
    scalar(key, s);
  }

  // Closes the line: '}' and '\n', after ,"truncated":true when something
  // was left out.
  std::string_view finish() {
    if (truncated_) put(",\"truncated\":true");
    put("}\n");
    return buf_.view();
  }
  bool truncated() const { return truncated_; }
  Buffer& buffer() { return buf_; }

  // Bytes every line keeps free for its end.
  static constexpr std::size_t tail = sizeof(",\"truncated\":true}\n") - 1;

 private:
  void put(std::string_view s) { buf_.put(s.data(), s.size()); }
  void put_u64(std::uint64_t v, int min_digits) {
    char tmp[24];
    int n = 0;
    while (v != 0 || n < min_digits) {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    char out[24];
    for (int k = 0; k < n; ++k) out[k] = tmp[n - 1 - k];
    put(std::string_view(out, static_cast<std::size_t>(n)));
  }
  // ,"key": with room for `value_min` more bytes; false (and the line
  // marked truncated) when it does not fit. Keys are ours: not escaped.
  bool open_field(std::string_view key, std::size_t value_min) {
    if (truncated_ || !buf_.room(key.size() + 4 + value_min, tail)) {
      truncated_ = true;
      return false;
    }
    put(",\"");
    put(key);
    put("\":");
    return true;
  }
  void scalar(std::string_view key, std::string_view text) {
    if (open_field(key, text.size())) put(text);
  }

  Buffer buf_;
  bool truncated_ = false;
};

// A line in a caller's array (no allocation: the shim's).
using fixed_event_line = basic_event_line<fixed_line_buffer>;
// A line in a std::string (everyone else's).
using string_event_line = basic_event_line<string_line_buffer>;

}  // namespace faultmux::wire
