// Deterministic message bodies for workloads: the sequence number in the
// first bytes and a pattern derived from it, so a reply can be checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace faultmux {

inline char payload_byte(std::uint64_t seq, std::size_t i) {
  return i < 8 ? static_cast<char>(seq >> (56 - 8 * i)) : static_cast<char>((seq * 31 + i) & 0xff);
}

inline std::string make_payload(std::uint64_t seq, std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = payload_byte(seq, i);
  return s;
}

// Whether `data` is make_payload(seq, size), without building it: a worker
// checks every reply.
inline bool is_payload(std::string_view data, std::uint64_t seq, std::size_t size) {
  if (data.size() != size) return false;
  for (std::size_t i = 0; i < size; ++i)
    if (data[i] != payload_byte(seq, i)) return false;
  return true;
}

}  // namespace faultmux
