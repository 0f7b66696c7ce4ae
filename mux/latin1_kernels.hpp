// The implementations behind mux/latin1.hpp: the portable word-at-a-time
// code, and vector code for the x86-64 CPUs that have it, chosen once at run
// time. Every implementation gives the same results on every input; tests
// run each one this CPU supports against the portable one.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace faultmux::pickle::latin1::detail {

// One implementation of the conversions.
struct kernels {
  const char* name;
  std::size_t (*utf8_size)(std::string_view bytes);
  // Writes utf8_size(bytes) bytes at `out`, and may write one byte more.
  void (*to_utf8)(std::string_view bytes, char* out);
  std::optional<std::size_t> (*code_points)(std::string_view text);
  // Each byte of `text` as append_from_utf8 reads it: a byte of 0xc0 or
  // above with the next byte's low six bits, a continuation byte dropped,
  // any other byte as itself. Sets `bad` on a lead byte other than 0xc2 or
  // 0xc3 and on one at the end. Returns the end of what it wrote; once that
  // is past `limit` it may stop (text of more code points than the caller
  // said), and it writes nothing from `limit` + from_utf8_slack on.
  char* (*from_utf8)(std::string_view text, char* out, char* limit, bool& bad);
};

// Room from_utf8 needs past `limit`.
inline constexpr std::size_t from_utf8_slack = 32;

// The word-at-a-time code, for any CPU and for the vector code's tails.
namespace portable {
std::size_t utf8_size(std::string_view bytes);
void to_utf8(std::string_view bytes, char* out);
// As kernels::code_points; with `owed`, the first byte must be a
// continuation byte (a lead byte ended what came before).
std::optional<std::size_t> code_points(std::string_view text, bool owed);
char* from_utf8(std::string_view text, char* out, char* limit, bool& bad);
}  // namespace portable

// Every implementation this build has that this CPU can run, the portable
// one first and the fastest last.
std::vector<const kernels*> supported();
// The fastest of them, chosen on first use.
const kernels& fastest();

// The vector implementations of this build that this CPU can run (none off
// x86-64), slowest first.
std::vector<const kernels*> vector_kernels();

}  // namespace faultmux::pickle::latin1::detail
