// Python 3 pickles bytes at protocol 2 as _codecs.encode(text, 'latin1'): the
// text holds one code point per byte, so a byte of 0x80 or above is two bytes
// of UTF-8. These convert whole buffers in vector registers where the CPU
// has them (else a word at a time), without a call or an unpredictable
// branch per byte, since call bodies can be megabytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace faultmux::pickle::latin1 {

// Bytes of the UTF-8 text that holds `bytes` as code points U+0000..U+00FF.
std::size_t utf8_size(std::string_view bytes);
// Writes that text (utf8_size(bytes) bytes) at `out`, which must have room
// for one byte more than that.
void to_utf8(std::string_view bytes, char* out);
// Code points of `text` when it is well-formed UTF-8 whose code points are
// all below U+0100; nullopt otherwise (the caller's full check then says why).
std::optional<std::size_t> code_points(std::string_view text);
// The bytes such a text stands for, appended to `out`; false, with `out`
// unchanged, when `text` is not such a text.
bool append_from_utf8(std::string& out, std::string_view text);
// The same for `text` already known to be well-formed UTF-8 of `count` code
// points (as utf8::check found it), without checking that again.
bool append_from_utf8(std::string& out, std::string_view text, std::size_t count);

}  // namespace faultmux::pickle::latin1
