// UTF-8 for the reports: results.json, junit.xml and the HTML page take
// text that processes wrote, which need not be UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace faultmux::reports {

// Appends one code point as UTF-8.
void put_utf8(std::string& out, char32_t c);

// Decodes the UTF-8 sequence at `i` and moves `i` past it; a sequence that
// is not UTF-8 (overlong, a surrogate, past U+10FFFF, cut short) gives
// U+FFFD and moves one byte.
char32_t next_code_point(std::string_view s, std::size_t& i);

}  // namespace faultmux::reports
