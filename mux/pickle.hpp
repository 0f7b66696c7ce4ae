// Pickle codec for call bodies (docs/protocol.md, Calls): protocol 2, exactly the
// opcodes and globals Mitogen 0.3.3's unpickler lets through, both ways. Pure:
// no I/O, no exceptions on the data path; anything outside the subset is
// refused with an error naming the byte offset and the opcode or global.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "mux/value.hpp"

namespace faultmux::pickle {

// A value or the reason there is none (text naming the offset and cause).
// Read it with has_value(), operator* and error(); value() needs an error_code.
template <class T>
using result = boost::system::result<T, std::string>;

// Bounds on what a peer's pickle can make us build. Python shares objects a
// memo reference (BINGET) repeats; our values are copies, so every copy is
// counted, and a few bytes of input cannot become gigabytes.
struct limits {
  // Containers (tuple, list, dict, Kwargs) nested inside each other. Also
  // what stops a self-referencing list, which Python could build.
  std::size_t max_depth = 100;
  // Values in the decoded result. Parsing itself holds at most 8 times as
  // many intermediate objects (a bytes value takes several opcodes).
  std::size_t max_items = std::size_t{1} << 20;
  // Bytes of text and bytes in the decoded result; separately, bytes
  // converted by _codecs.encode while parsing.
  std::size_t max_bytes = std::size_t{256} << 20;
  // Payload of one LONG1/LONG4 int (Python writes LONG4 from 256 bytes on).
  std::size_t max_long_bytes = 1024;
};

// The value a protocol 2 pickle stands for, read as Mitogen's unpickler
// would (Python 3, encoding="bytes"), or the reason it is refused. The whole
// input must be one pickle: data after STOP is refused.
result<value> decode(std::string_view pickle, const limits& lim = {});

// The protocol 2 pickle of `v` as Python 3's pickle.dumps(v, protocol=2)
// writes it, less the memo opcodes. Refuses what Mitogen's unpickler would
// refuse (text that is not UTF-8, a CallError of 10000 code points, a
// Context name of 100, a negative context id, a Sender handle below 1, an
// unhashable dict key) and what `lim` would refuse on decoding (depth, int
// size). Kwargs bytes keys are written as the text they come out as.
result<std::string> encode(const value& v, const limits& lim = {});

// "BUILD" for 0x62, "" for a byte that is no pickle opcode.
const char* opcode_name(std::uint8_t op);

}  // namespace faultmux::pickle
